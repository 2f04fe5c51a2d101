import { batchesOf, listLevels, listSerials } from '../db/stock.ts';
import { assertWarehouses } from '../server/plugins/auth.ts';
import type { Handlers } from './types.ts';

export const stockHandlers = {
  async listStockLevels({ db, query, principal, page }) {
    if (query.warehouse_id) assertWarehouses(principal, query.warehouse_id);
    const rows = await listLevels(db, { ...query, allowed: principal.warehouses && [...principal.warehouses], after: page.after as [string, string] | null, limit: page.limit });
    const batches = await batchesOf(db, rows.filter((r) => r.track_by === 'BATCH'));
    const levels = rows.map(({ track_by, ...level }) => ({
      ...level,
      ...(track_by === 'BATCH' && {
        batches: batches
          .filter((b) => b.item_id === level.item_id && b.warehouse_id === level.warehouse_id && b.on_hand > 0)
          .map(({ batch, on_hand, expires_at }) => ({ batch, on_hand, expires_at })),
      }),
    }));
    return { status: 200, body: page.result(levels, (l) => [l.item_id, l.warehouse_id]) };
  },

  async listSerials({ db, query, principal, page }) {
    if (query.warehouse_id) assertWarehouses(principal, query.warehouse_id);
    const rows = await listSerials(db, { ...query, allowed: principal.warehouses && [...principal.warehouses], after: page.after as [string, string] | null, limit: page.limit });
    return { status: 200, body: page.result(rows, (s) => [s.item_id, s.serial]) };
  },
} satisfies Pick<Handlers, 'listStockLevels' | 'listSerials'>;
