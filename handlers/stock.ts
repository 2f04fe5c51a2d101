import type { components } from '../generated/api.ts';
import { findItem } from '../db/items.ts';
import { traceEntries, traceKey, traceOnHand, type TraceRow, type Traced } from '../db/trace.ts';
import { canSee, type Principal } from '../domain/access.ts';
import { invalid, invalidField, type FieldError } from '../domain/problems.ts';
import { batchesOf, keyOf, listLevels, listSerials } from '../db/stock.ts';
import { groupBy } from './lib/documents.ts';
import { presentLevel } from './lib/catalogue.ts';
import { scopedPage } from './lib/listing.ts';
import type { Context, Handlers } from './types.ts';

type TraceEntry = components['schemas']['TraceEntry'];

/**
 * What a trace asks for: an item, and exactly one of a batch and a serial, of the kind the item
 * is tracked by (so that asking a serial of a batch item is an error, not an empty answer).
 */
async function traced({ db, query }: Context<'traceStock'>): Promise<Traced> {
  const errors: FieldError[] = [];
  if (query.batch === undefined && query.serial === undefined)
    errors.push({ pointer: '#/query/batch', code: 'required', detail: 'Give batch or serial.' });
  if (query.batch !== undefined && query.serial !== undefined)
    errors.push({
      pointer: '#/query/serial',
      code: 'not_allowed',
      detail: 'Give batch or serial, not both.',
    });
  if (errors.length) throw invalid(errors);
  const item = await findItem(db, query.item_id);
  if (!item)
    throw invalidField('#/query/item_id', 'unknown_item', `No item ${query.item_id} exists.`);
  if (query.batch !== undefined) {
    if (item.track_by !== 'BATCH')
      throw invalidField('#/query/batch', 'not_allowed', `${item.id} is not tracked by batch.`);
    return { item_id: item.id, batch: query.batch };
  }
  if (item.track_by !== 'SERIAL')
    throw invalidField('#/query/serial', 'not_allowed', `${item.id} is not tracked by serial.`);
  return { item_id: item.id, serial: query.serial as string };
}

/**
 * An entry as the token may see it: the entry is in one of its warehouses, and so is the receipt
 * that posted it (a receipt's move brings stock into the receipt's warehouse); the vendor belongs
 * to the order, shown as the order's own GET would be (docs/standards.md §3).
 */
function toTraceEntry(principal: Principal, r: TraceRow): TraceEntry {
  const receiptSeen =
    r.receipt_id !== null &&
    r.receipt_warehouse_id !== null &&
    canSee(principal, [r.receipt_warehouse_id]);
  const orderSeen =
    receiptSeen && canSee(principal, r.po_warehouse_id === null ? [] : [r.po_warehouse_id]);
  return {
    direction: r.direction,
    move_id: r.move_id,
    ...(receiptSeen && { receipt_id: r.receipt_id as string }),
    ...(receiptSeen && r.po_id !== null && { po_id: r.po_id }),
    ...(orderSeen && r.vendor_id !== null && { vendor_id: r.vendor_id }),
    ...(r.reference !== null && { reference: r.reference }),
    warehouse_id: r.warehouse_id,
    qty: r.qty,
    at: r.at,
  };
}

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

  async traceStock(ctx) {
    const { db, principal, page } = ctx;
    const t = await traced(ctx);
    const scope = scopedPage<unknown[]>(principal, page);
    const [rows, onHand] = await Promise.all([
      traceEntries(db, t, scope),
      traceOnHand(db, t, scope.allowed),
    ]);
    const result = page.result(rows, traceKey);
    return {
      status: 200,
      body: {
        data: result.data.map((r) => toTraceEntry(principal, r)),
        page: result.page,
        on_hand: onHand,
      },
    };
  },
} satisfies Pick<Handlers, 'listStockLevels' | 'listSerials' | 'traceStock'>;
