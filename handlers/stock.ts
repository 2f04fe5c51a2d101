import type { components } from '../generated/api.ts';
import { findItem } from '../db/items.ts';
import { traceEntries, traceKey, traceOnHand, type TraceRow, type Traced } from '../db/trace.ts';
import { assertWarehouses, canSee, type Principal } from '../domain/access.ts';
import { findWarehouse } from '../db/warehouses.ts';
import { incomingByDate } from '../db/availability.ts';
import { micro, toNumber } from './lib/quantity.ts';
import { invalid, invalidField, type FieldError } from '../domain/problems.ts';
import { batchesOf, findLevels, keyOf, listLevels, listSerials } from '../db/stock.ts';
import { groupBy } from './lib/documents.ts';
import { presentLevel } from './lib/catalogue.ts';
import { scopedPage } from './lib/listing.ts';
import type { Context, Handlers } from './types.ts';

type TraceEntry = components['schemas']['TraceEntry'];
type Availability = components['schemas']['Availability'];

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

/**
 * The item's level in the warehouse and its dated incoming, for availability and ATP: 422 when
 * the item or the warehouse does not exist, 403 when the token may not touch the warehouse.
 */
async function availability(
  { db, principal }: Pick<Context<'getAvailability'>, 'db' | 'principal'>,
  key: { item_id: string; warehouse_id: string },
  until?: string,
): Promise<Availability> {
  const [item, warehouse] = await Promise.all([
    findItem(db, key.item_id),
    findWarehouse(db, key.warehouse_id),
  ]);
  const errors: FieldError[] = [];
  if (!item)
    errors.push({
      pointer: '#/query/item_id',
      code: 'unknown_item',
      detail: `No item ${key.item_id} exists.`,
    });
  if (!warehouse)
    errors.push({
      pointer: '#/query/warehouse_id',
      code: 'unknown_warehouse',
      detail: `No warehouse ${key.warehouse_id} exists.`,
    });
  if (errors.length) throw invalid(errors);
  assertWarehouses(principal, key.warehouse_id);
  const [[level], dated] = await Promise.all([
    findLevels(db, [key]),
    incomingByDate(db, key, until),
  ]);
  // No level: nothing was ever on hand or incoming there.
  const available = level ? micro(level.available) : 0n;
  let projected = available;
  return {
    item_id: key.item_id,
    warehouse_id: key.warehouse_id,
    on_hand: level?.on_hand ?? 0,
    available: toNumber(available),
    undated_incoming: level?.undated_incoming ?? 0,
    timeline: dated.map((d) => {
      projected += micro(d.incoming);
      return { date: d.date, incoming: d.incoming, projected_available: toNumber(projected) };
    }),
  };
}

/** Today's date in UTC, YYYY-MM-DD: the calendar ATP answers in. */
const todayUtc = () => new Date().toISOString().slice(0, 10);

export const stockHandlers = {
  async getAvailability(ctx) {
    const { query } = ctx;
    const body = await availability(ctx, query, query.until);
    return { status: 200, body };
  },

  async getAvailableToPromise(ctx) {
    const { query } = ctx;
    const a = await availability(ctx, query);
    const wanted = micro(query.qty);
    const today = todayUtc();
    let earliest: string | null = null;
    if (micro(a.available) >= wanted) earliest = today;
    else {
      const entry = a.timeline.find((e) => micro(e.projected_available) >= wanted);
      // A delivery already overdue is still expected: it can be promised from today, not before.
      if (entry) earliest = entry.date.localeCompare(today) < 0 ? today : entry.date;
    }
    return { status: 200, body: { available_now: a.available, earliest_date: earliest } };
  },

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
} satisfies Pick<
  Handlers,
  'listStockLevels' | 'listSerials' | 'traceStock' | 'getAvailability' | 'getAvailableToPromise'
>;
