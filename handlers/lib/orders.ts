// Purchase orders as the API shows them, and their creation, shared by POST /purchase-orders and
// by converting a requisition (which creates one order per vendor).
import {
  findPurchaseOrderWithLines,
  insertPurchaseOrder,
  purchaseOrderLines,
  replacePurchaseOrderLines,
  type PurchaseOrderHeader,
  type PurchaseOrderLineInput,
  type PurchaseOrderLineRow,
  type PurchaseOrderRow,
} from '../../db/purchase-orders.ts';
import { allInOrder, type Db } from '../../db/client.ts';
import { findItemsOfOrder } from '../../db/items.ts';
import { findWarehouses } from '../../db/warehouses.ts';
import { must } from '../../domain/must.ts';
import { newId } from '../../db/ids.ts';
import type { components } from '../../generated/api.ts';
import { ProblemError, invalid, type FieldError } from '../../domain/problems.ts';
import type { Context, OperationId } from '../types.ts';
import { groupBy, present, withEtag } from './documents.ts';
import { micro } from './quantity.ts';
import { echoUnits, resolveLineUnits } from './line-units.ts';
import {
  currencyErrors,
  lineItemErrors,
  loadReferences,
  loadVendors,
  referencesOf,
  vendorErrors,
  warehouseErrors,
  type References,
} from './references.ts';
import { orderWarehouses, warehouseRequired } from './procurement-access.ts';
import { applyVendorTerms } from './vendor-terms.ts';
import { assertWarehouses, type Principal } from '../../domain/access.ts';
import type { VendorRow } from '../../db/vendors.ts';

export type PurchaseOrder = components['schemas']['PurchaseOrder'];

/**
 * NONE until something is received; FULL once nothing is open on any line (each received or
 * cancelled in full) and something was received; PARTIAL in between. Exact decimals.
 */
export function receiptProgress(lines: PurchaseOrderLineRow[]): PurchaseOrder['receipt_progress'] {
  if (!lines.some((l) => l.qty_received > 0)) return 'NONE';
  const open = lines.some((l) => micro(l.qty_received) + micro(l.qty_cancelled) < micro(l.qty));
  return open ? 'PARTIAL' : 'FULL';
}

/** The order as the API shows it, with its lines (in line order). */
export function presentPurchaseOrder(
  row: PurchaseOrderRow,
  lines: PurchaseOrderLineRow[],
): PurchaseOrder {
  return {
    ...withEtag(present(row)),
    receipt_progress: receiptProgress(lines),
    // expected_at and the unit given are absent when not set, never null.
    lines: lines.map(({ po_id: _, expected_at, uom, uom_qty, uom_unit_price, ...line }) => ({
      ...line,
      ...echoUnits({ uom, uom_qty, uom_unit_price }),
      ...(expected_at !== null && { expected_at }),
    })),
  };
}

export async function toPurchaseOrders(db: Db, rows: PurchaseOrderRow[]): Promise<PurchaseOrder[]> {
  const lines = groupBy(
    await purchaseOrderLines(
      db,
      rows.map((r) => r.id),
    ),
    (l) => l.po_id,
  );
  return rows.map((row) => presentPurchaseOrder(row, lines.get(row.id) ?? []));
}

export async function toPurchaseOrder(db: Db, row: PurchaseOrderRow): Promise<PurchaseOrder> {
  const [po] = await toPurchaseOrders(db, [row]);
  return po;
}

/** A line as the API takes it: its quantity in stock units, or in a unit of the item. */
export type OrderLineBody = Omit<PurchaseOrderLineInput, 'qty' | 'given' | 'unit_price'> & {
  qty?: number;
  uom?: string;
  uom_qty?: number;
  unit_price?: string;
};

/** A line in stock units, its price still to come from the vendor's terms when it gave none. */
type UnpricedLine = Omit<PurchaseOrderLineInput, 'unit_price'> & { unit_price?: string };

export interface OrderBody {
  vendor_id: string;
  currency?: string;
  ship_to_warehouse_id?: string;
  /** A line without unit_price is priced from the vendor's vendor item (applyVendorTerms). */
  lines: OrderLineBody[];
}

/**
 * The order's lines in stock units (handlers/lib/line-units.ts), with the errors of those whose
 * unit is refused; lines of unknown items are left for lineItemErrors to report.
 */
export function orderLinesInStockUnits(
  refs: References,
  lines: OrderLineBody[],
): { lines: UnpricedLine[]; errors: FieldError[] } {
  const resolved = resolveLineUnits(lines, 'qty', (l) => refs.items.get(l.item_id), {
    priced: true,
  });
  return { lines: resolved.lines as UnpricedLine[], errors: resolved.errors };
}

/**
 * Validates what an order body refers to (vendor, currency, warehouse, items) and returns the
 * vendor, whose currency is the order's default, with the errors found (pointers into the body).
 * A restricted token must name the warehouse (docs/standards.md §3); 403 for one outside its
 * claim comes first. The lines are checked against the vendor's vendor items and priced
 * (applyVendorTerms); `lines` are the body's, each with its price.
 */
export async function checkOrderBody(
  db: Db,
  principal: Principal,
  body: OrderBody,
): Promise<{
  vendor: VendorRow | undefined;
  errors: FieldError[];
  lines: PurchaseOrderLineInput[];
}> {
  assertWarehouses(principal, body.ship_to_warehouse_id);
  const shipTo = body.ship_to_warehouse_id;
  const vendors = await loadVendors(db, [body.vendor_id]);
  const refs = await loadReferences(
    db,
    body.lines.map((l) => l.item_id),
    shipTo === undefined ? [] : [shipTo],
  );
  const inStockUnits = orderLinesInStockUnits(refs, body.lines);
  const errors = [
    ...vendorErrors(vendors, body.vendor_id, '#/vendor_id'),
    ...currencyErrors(body.currency, '#/currency'),
    ...(shipTo === undefined
      ? warehouseRequired(principal, shipTo, '#/ship_to_warehouse_id', 'the order to ship to')
      : warehouseErrors(refs, shipTo, '#/ship_to_warehouse_id')),
    ...lineItemErrors(refs, body.lines, (i) => `#/lines/${i}/item_id`),
    ...inStockUnits.errors,
    ...expectedAtErrors(body.lines),
  ];
  const vendor = vendors.get(body.vendor_id);
  const currency = body.currency ?? vendor?.currency;
  // The vendor's terms are in stock units: they apply once every line's unit is converted.
  const terms = await applyVendorTerms(
    db,
    currency === undefined || inStockUnits.errors.length > 0
      ? []
      : inStockUnits.lines.map((l) => ({ ...l, vendor_id: body.vendor_id, currency })),
    (i, field) => `#/lines/${i}/${field}`,
  );
  errors.push(...terms.errors);
  const lines = inStockUnits.lines.map((l, i) => ({
    ...l,
    unit_price: l.unit_price ?? terms.prices[i] ?? '',
  }));
  return { vendor, errors, lines };
}

export interface NewOrder extends PurchaseOrderHeader {
  /** null: generate one. */
  number: string | null;
  requisition_id: string | null;
  lines: PurchaseOrderLineInput[];
}

/**
 * Inserts a DRAFT purchase order with its lines and audits it; 409 duplicate-number when the
 * number is taken. Its `procurement.purchase_order.created` is the caller's to send, with the
 * other events of its transaction, after its last write.
 */
export async function createOrder(
  { db, actor, audit }: Pick<Context<OperationId>, 'db' | 'actor' | 'audit'>,
  order: NewOrder,
): Promise<PurchaseOrder> {
  const { lines, ...header } = order;
  const row = await insertPurchaseOrder(db, { ...header, id: newId('po'), created_by: actor.sub });
  if (!row)
    throw new ProblemError(
      'duplicate-number',
      `Purchase order number ${order.number} is already in use.`,
      { number: order.number },
    );
  await replacePurchaseOrderLines(db, row.id, lines);
  const po = await toPurchaseOrder(db, row);
  await audit({
    action: 'purchase_order.created',
    entity: 'purchase_order',
    entityId: po.id,
    warehouseIds: orderWarehouses(row),
    after: po,
  });
  return po;
}

/** Errors for document lines (receipt or invoice lines) that name no line of the order. */
export function poLineErrors(
  lines: { po_line_id: string }[],
  poId: string,
  lineIds: Set<string>,
): FieldError[] {
  return lines.flatMap(({ po_line_id }, i): FieldError[] =>
    lineIds.has(po_line_id)
      ? []
      : [
          {
            pointer: `#/lines/${i}/po_line_id`,
            code: 'unknown_po_line',
            detail: `${po_line_id} is not a line of purchase order ${poId}.`,
          },
        ],
  );
}

/** An order, its lines and what a document against it names (its items, one warehouse). */
export interface OrderReferences {
  po: PurchaseOrderRow | null;
  poLines: PurchaseOrderLineRow[];
  /** The order's items and the document's warehouse. */
  refs: References;
}

/**
 * The order and its lines (locked, with `lock`: the order, then its lines), its items and the
 * warehouse a document against it names, in one round trip.
 */
export async function loadOrderReferences(
  db: Db,
  poId: string,
  warehouseId: string,
  { lock = false } = {},
): Promise<OrderReferences> {
  const [{ po, lines }, items, warehouses] = await allInOrder([
    findPurchaseOrderWithLines(db, poId, { lock }),
    findItemsOfOrder(db, poId),
    findWarehouses(db, [warehouseId]),
  ]);
  return { po, poLines: lines, refs: referencesOf(items, warehouses) };
}

/**
 * 422 unless the warehouse exists, is active and is the one the order ships to (when it names
 * one), and every line is a line of the order; returns the lines with their items (a document's
 * line names its PO line, the item comes from there). `there` ends the mismatch's detail, saying
 * what to do ("receive it there").
 */
export function resolveOrderLines<L extends { po_line_id: string }>(
  { po, poLines, refs }: OrderReferences & { po: PurchaseOrderRow },
  warehouseId: string,
  lines: L[],
  there: string,
): (L & { item_id: string })[] {
  const items = new Map(poLines.map((l) => [l.id, l.item_id]));
  const shipTo = po.ship_to_warehouse_id;
  const errors: FieldError[] = [...warehouseErrors(refs, warehouseId, '#/warehouse_id')];
  if (shipTo !== null && shipTo !== warehouseId)
    errors.push({
      pointer: '#/warehouse_id',
      code: 'warehouse_mismatch',
      detail: `Purchase order ${po.id} ships to ${shipTo}, not ${warehouseId}: ${there}.`,
    });
  errors.push(...poLineErrors(lines, po.id, new Set(items.keys())));
  if (errors.length) throw invalid(errors);
  return lines.map((line) => ({
    ...line,
    item_id: must(items.get(line.po_line_id), 'item of a line of the order, checked above'),
  }));
}

/** Lines may keep their ids on PUT and revisions only, and only ids of this order's lines, each once. */
export function lineIdErrors(lines: { id?: string }[], existing: Set<string>): FieldError[] {
  const seen = new Set<string>();
  return lines.flatMap(({ id }, i): FieldError[] => {
    if (id === undefined) return [];
    const pointer = `#/lines/${i}/id`;
    if (!existing.has(id))
      return [
        {
          pointer,
          code: 'unknown_po_line',
          detail: `Line ${id} is not a line of this purchase order (omit id for a new line).`,
        },
      ];
    if (seen.has(id))
      return [{ pointer, code: 'duplicate_line', detail: `Line ${id} appears more than once.` }];
    seen.add(id);
    return [];
  });
}

/**
 * The schema checks `expected_at` is a date; year 0000 passes it but is no date PostgreSQL holds
 * (its calendar goes from 1 BC to AD 1).
 */
export function expectedAtErrors(lines: { expected_at?: string }[]): FieldError[] {
  return lines.flatMap(({ expected_at }, i): FieldError[] =>
    expected_at?.startsWith('0000')
      ? [
          {
            pointer: `#/lines/${i}/expected_at`,
            code: 'out_of_range',
            detail: 'Year 0000 is not a year: the earliest is 0001.',
          },
        ]
      : [],
  );
}
