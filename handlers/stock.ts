import { batchesOf, keyOf, listLevels, listSerials } from '../db/stock.ts';
import { groupBy } from './lib/documents.ts';
import { presentLevel } from './lib/catalogue.ts';
import { scopedPage } from './lib/listing.ts';
import type { Handlers } from './types.ts';

export const stockHandlers = {
  async listStockLevels({ db, query, principal, page }) {
    const rows = await listLevels(db, {
      ...query,
      ...scopedPage(principal, page, query.warehouse_id),
    });
    const batches = groupBy(
      await batchesOf(
        db,
        rows.filter((r) => r.track_by === 'BATCH'),
      ),
      (b) => keyOf(b.item_id, b.warehouse_id),
    );
    const levels = rows.map((level) =>
      presentLevel({
        ...level,
        batches: batches.get(keyOf(level.item_id, level.warehouse_id)) ?? [],
      }),
    );
    return { status: 200, body: page.result(levels, (l) => [l.item_id, l.warehouse_id]) };
  },

  async listSerials({ db, query, principal, page }) {
    const rows = await listSerials(db, {
      ...query,
      ...scopedPage(principal, page, query.warehouse_id),
    });
    return { status: 200, body: page.result(rows, (s) => [s.item_id, s.serial]) };
  },
} satisfies Pick<Handlers, 'listStockLevels' | 'listSerials'>;
