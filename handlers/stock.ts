import { batchesOf, listLevels, listSerials } from '../db/stock.ts';
import { scopedPage } from './lib/listing.ts';
import type { Handlers } from './types.ts';

export const stockHandlers = {
  async listStockLevels({ db, query, principal, page }) {
    const rows = await listLevels(db, {
      ...query,
      ...scopedPage(principal, page, query.warehouse_id),
    });
    const batches = await batchesOf(
      db,
      rows.filter((r) => r.track_by === 'BATCH'),
    );
    const levels = rows.map(({ track_by, ...level }) => ({
      ...level,
      ...(track_by === 'BATCH' && {
        batches: batches
          .filter(
            (b) =>
              b.item_id === level.item_id && b.warehouse_id === level.warehouse_id && b.on_hand > 0,
          )
          .map(({ batch, on_hand, expires_at }) => ({ batch, on_hand, expires_at })),
      }),
    }));
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
