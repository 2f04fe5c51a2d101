import type postgres from 'postgres';
import { allInOrder, type Db } from './client.ts';
import { newId } from './ids.ts';
import { keysetOrder, keysetWhere, type Keyset } from './keyset.ts';
import type { ScopedPage } from './listing.ts';

export type PurchaseOrderStatus = 'DRAFT' | 'SENT' | 'RECEIVED' | 'CLOSED';
export type ClosedReason = 'COMPLETED' | 'CANCELLED' | 'SHORT_CLOSED';

export interface PurchaseOrderRow {
  id: string;
  number: string;
  vendor_id: string;
  currency: string;
  status: PurchaseOrderStatus;
  notes: string | null;
  requisition_id: string | null;
  /** Where the goods go; null: unassigned (docs/standards.md §3). */
  ship_to_warehouse_id: string | null;
  /** 1 at creation; each change order (revision) counts it up. */
  revision: number;
  /** Set exactly when CLOSED (a CHECK says so). */
  closed_reason: ClosedReason | null;
  /** Who approved it for sending (above its currency's threshold); any change clears it. */
  approved_by: string | null;
  approved_at: string | null;
  version: number;
  /** The creator's `sub`. */
  created_by: string;
  /** Who last changed its terms (a PUT, a revision); null until then. */
  updated_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface PurchaseOrderLineInput {
  /** On replacement: keep this existing line's id. */
  id?: string;
  item_id: string;
  qty: number;
  unit_price: string;
  /** A calendar date, YYYY-MM-DD. */
  expected_at?: string;
  /** What the line was given in, when not in stock units (handlers/lib/line-units.ts). */
  given?: GivenUnits;
}

/** A line's unit as given: stored next to its figures in stock units, only to echo it. */
export interface GivenUnits {
  uom: string;
  uom_qty: number;
  uom_unit_price?: string;
}

export interface PurchaseOrderLineRow {
  id: string;
  po_id: string;
  item_id: string;
  qty: number;
  unit_price: string;
  qty_received: number;
  qty_invoiced: number;
  qty_credited: number;
  qty_cancelled: number;
  qty_returned: number;
  expected_at: string | null;
  uom: string | null;
  uom_qty: number | null;
  uom_unit_price: string | null;
}

export type PurchaseOrderHeader = Pick<
  PurchaseOrderRow,
  'vendor_id' | 'currency' | 'notes' | 'ship_to_warehouse_id'
>;

const columns = (db: Db) =>
  db`id, number, vendor_id, currency, status, notes, requisition_id, ship_to_warehouse_id, revision, closed_reason, approved_by, approved_at, version, created_by, updated_by, created_at, updated_at`;
const lineColumns = (db: Db) =>
  db`id, po_id, item_id, qty, unit_price::text AS unit_price, qty_received, qty_invoiced, qty_credited, qty_cancelled, qty_returned, expected_at, uom, uom_qty, uom_unit_price::text AS uom_unit_price`;

// Generated numbers come from a sequence: PO-000042, wider once past six digits.
const GENERATED_NUMBER_ATTEMPTS = 20;
const nextNumber = (db: Db) =>
  db`(SELECT 'PO-' || lpad(n::text, greatest(6, length(n::text)), '0') FROM nextval('purchase_order_number_seq') AS n)`;

/**
 * Inserts the purchase order (DRAFT); null when its number is taken. The unique index decides,
 * so of two transactions racing with one number the second waits for the first and gets null.
 * `number: null` generates one.
 */
export async function insertPurchaseOrder(
  db: Db,
  po: PurchaseOrderHeader & {
    id: string;
    number: string | null;
    requisition_id: string | null;
    created_by: string;
  },
): Promise<PurchaseOrderRow | null> {
  // A client may have chosen a number that looks generated; then the next one is tried.
  for (let attempt = 0; attempt < GENERATED_NUMBER_ATTEMPTS; attempt++) {
    const [row] = await db<PurchaseOrderRow[]>`
      INSERT INTO purchase_orders (id, number, vendor_id, currency, notes, requisition_id, ship_to_warehouse_id, created_by)
      VALUES (${po.id}, ${po.number ?? nextNumber(db)}, ${po.vendor_id}, ${po.currency}, ${po.notes}, ${po.requisition_id}, ${po.ship_to_warehouse_id}, ${po.created_by})
      ON CONFLICT DO NOTHING
      RETURNING ${columns(db)}`;
    if (row || po.number !== null) return row ?? null;
  }
  throw new Error(
    `no free generated purchase order number after ${GENERATED_NUMBER_ATTEMPTS} attempts`,
  );
}

/** Replaces all lines of a purchase order; lines that carry an id keep it. */
export async function replacePurchaseOrderLines(
  db: Db,
  poId: string,
  lines: PurchaseOrderLineInput[],
): Promise<void> {
  await db`DELETE FROM purchase_order_lines WHERE po_id = ${poId}`;
  const rows = lines.map((l, i) => ({
    id: l.id ?? newId('pol'),
    po_id: poId,
    line_no: i,
    item_id: l.item_id,
    qty: l.qty,
    unit_price: l.unit_price,
    expected_at: l.expected_at ?? null,
    uom: l.given?.uom ?? null,
    uom_qty: l.given?.uom_qty ?? null,
    uom_unit_price: l.given?.uom_unit_price ?? null,
  }));
  await db`INSERT INTO purchase_order_lines ${db(rows)}`;
}

export async function findPurchaseOrder(
  db: Db,
  id: string,
  { lock = false } = {},
): Promise<PurchaseOrderRow | null> {
  const [row] = await db<
    PurchaseOrderRow[]
  >`SELECT ${columns(db)} FROM purchase_orders WHERE id = ${id} ${lock ? db`FOR UPDATE` : db``}`;
  return row ?? null;
}

export async function purchaseOrderLines(db: Db, poIds: string[]): Promise<PurchaseOrderLineRow[]> {
  return db<
    PurchaseOrderLineRow[]
  >`SELECT ${lineColumns(db)} FROM purchase_order_lines WHERE po_id = ANY(${poIds}) ORDER BY po_id, line_no`;
}

/**
 * Locks every line of the purchase order, in id order (one fixed order for every transaction, so
 * two postings against the same order queue up instead of deadlocking), and returns them in line order.
 */
export function lockPurchaseOrderLines(db: Db, poId: string): Promise<PurchaseOrderLineRow[]> {
  return db<PurchaseOrderLineRow[]>`
    SELECT ${lineColumns(db)}
    FROM (SELECT * FROM purchase_order_lines WHERE po_id = ${poId} ORDER BY id FOR UPDATE) l
    ORDER BY line_no`;
}

/**
 * The purchase order and its lines (in line order), in one round trip; with `lock`, the order is
 * locked, then its lines (lockPurchaseOrderLines).
 */
export async function findPurchaseOrderWithLines(
  db: Db,
  id: string,
  { lock = false } = {},
): Promise<{ po: PurchaseOrderRow | null; lines: PurchaseOrderLineRow[] }> {
  const [po, lines] = await allInOrder([
    findPurchaseOrder(db, id, { lock }),
    lock ? lockPurchaseOrderLines(db, id) : purchaseOrderLines(db, [id]),
  ]);
  return { po, lines };
}

/** Applies the change and moves the purchase order to its next version (the statement is sent when called). */
export async function updatePurchaseOrder(
  db: Db,
  id: string,
  change: Partial<PurchaseOrderHeader & Pick<PurchaseOrderRow, 'status'>> & {
    /** A sub records an approval (now); null clears it. */
    approved_by?: string | null;
    /** Who changed the order's terms. */
    updated_by?: string;
  },
): Promise<PurchaseOrderRow> {
  const [row] = await db<PurchaseOrderRow[]>`
    UPDATE purchase_orders SET
      ${change.vendor_id === undefined ? db`` : db`vendor_id = ${change.vendor_id},`}
      ${change.currency === undefined ? db`` : db`currency = ${change.currency},`}
      ${change.notes === undefined ? db`` : db`notes = ${change.notes},`}
      ${change.ship_to_warehouse_id === undefined ? db`` : db`ship_to_warehouse_id = ${change.ship_to_warehouse_id},`}
      ${change.status === undefined ? db`` : db`status = ${change.status},`}
      ${change.approved_by === undefined ? db`` : change.approved_by === null ? db`approved_by = NULL, approved_at = NULL,` : db`approved_by = ${change.approved_by}, approved_at = now(),`}
      ${change.updated_by === undefined ? db`` : db`updated_by = ${change.updated_by},`}
      version = version + 1, updated_at = now()
    WHERE id = ${id}
    RETURNING ${columns(db)}`.execute();
  return row;
}

export interface LineIncrement {
  po_line_id: string;
  qty: number;
}

/**
 * Adds received quantities to (locked) lines, negative ones when a receipt is reversed; a SENT or
 * RECEIVED order is RECEIVED when nothing is open on any line (received or cancelled) and SENT
 * otherwise, so a reversal takes a RECEIVED order back to SENT. The lines' CHECKs
 * (qty_received + qty_cancelled <= qty, qty_returned <= qty_received) back up the caller's
 * over-receipt and returned-goods checks.
 */
export async function addReceived(
  db: Db,
  poId: string,
  increments: LineIncrement[],
): Promise<PurchaseOrderRow> {
  // Both statements go out now, in this order, so that a caller can pipeline more behind them.
  const [, [row]] = await allInOrder([
    addToLines(db, 'qty_received', increments).execute(),
    db<PurchaseOrderRow[]>`
    UPDATE purchase_orders p SET
      status = CASE WHEN p.status NOT IN ('SENT', 'RECEIVED') THEN p.status
                    WHEN NOT EXISTS (
                 SELECT 1 FROM purchase_order_lines l WHERE l.po_id = p.id AND l.qty_received + l.qty_cancelled < l.qty) THEN 'RECEIVED' ELSE 'SENT' END,
      version = version + 1, updated_at = now()
    WHERE id = ${poId}
    RETURNING ${columns(db)}`.execute(),
  ]);
  return row;
}

/**
 * Cancels what is still open on the (locked) lines, all of the order's or the one named, and
 * settles the order: once nothing is open anywhere it is RECEIVED when something was received,
 * else CLOSED as CANCELLED. With `close`, the order is closed in any case: COMPLETED from
 * RECEIVED, else SHORT_CLOSED when something was received, CANCELLED when nothing was. Both
 * statements go out now, in this order.
 */
export async function cancelOpen(
  db: Db,
  poId: string,
  { lineId, close = false }: { lineId?: string; close?: boolean },
): Promise<PurchaseOrderRow> {
  const [, row] = await allInOrder([
    db`
    UPDATE purchase_order_lines SET qty_cancelled = qty - qty_received
    WHERE po_id = ${poId} ${lineId === undefined ? db`` : db`AND id = ${lineId}`}
      AND qty_received + qty_cancelled < qty`.execute(),
    settleOrder(db, poId, { close }),
  ]);
  return row;
}

/**
 * Settles the order from its (locked) lines and moves it to its next version: once nothing is open
 * anywhere it is RECEIVED when something was received, else CLOSED as CANCELLED. With `close`, the
 * order is closed in any case: COMPLETED from RECEIVED, else SHORT_CLOSED when something was
 * received, CANCELLED when nothing was. `set` adds assignments (each followed by a comma) to the
 * same UPDATE. The statement goes out now.
 */
export async function settleOrder(
  db: Db,
  poId: string,
  { close = false, set = db`` }: { close?: boolean; set?: postgres.Fragment },
): Promise<PurchaseOrderRow> {
  const [row] = await db<PurchaseOrderRow[]>`
    WITH t AS (
      SELECT bool_or(qty_received + qty_cancelled < qty) AS open,
             bool_or(qty_received > 0) AS received
      FROM purchase_order_lines WHERE po_id = ${poId})
    UPDATE purchase_orders p SET
      status = CASE
        WHEN ${close}::boolean OR (NOT t.open AND NOT t.received) THEN 'CLOSED'
        WHEN NOT t.open THEN 'RECEIVED'
        ELSE p.status END,
      -- The CASEs see the order as it was: closing a RECEIVED order completes it, whatever
      -- its lines had cancelled before.
      closed_reason = CASE
        WHEN ${close}::boolean AND p.status = 'RECEIVED' THEN 'COMPLETED'
        WHEN NOT t.received AND (${close}::boolean OR NOT t.open) THEN 'CANCELLED'
        WHEN ${close}::boolean THEN 'SHORT_CLOSED' END,
      ${set}
      version = version + 1, updated_at = now()
    FROM t
    WHERE p.id = ${poId}
    RETURNING ${columns(db)}`.execute();
  return row;
}

/** A line as a change order leaves it: kept (its id) or added (a new id), at its new position. */
export interface RevisedLine {
  id: string;
  line_no: number;
  item_id: string;
  qty: number;
  unit_price: string;
  expected_at: string | null;
  uom: string | null;
  uom_qty: number | null;
  uom_unit_price: string | null;
}

/**
 * Makes the order's lines (locked) exactly `lines`: those not named are deleted, named ones take
 * their new figures and position, the others are inserted. The caller has checked that no line
 * goes below what it received and cancelled, and that none deleted is referred to; the CHECKs
 * and foreign keys back that up. The statements go out now, in this order.
 */
export async function reviseLines(
  db: Db,
  poId: string,
  lines: RevisedLine[],
  existing: Set<string>,
): Promise<void> {
  const kept = lines.filter((l) => existing.has(l.id));
  const added = lines.filter((l) => !existing.has(l.id));
  await allInOrder([
    db`DELETE FROM purchase_order_lines WHERE po_id = ${poId} AND id <> ALL(${kept.map((l) => l.id)}::text[])`.execute(),
    // (po_id, line_no) is unique and checked row by row: the kept lines step aside (to negative
    // positions) before they take their new ones.
    db`UPDATE purchase_order_lines SET line_no = -1 - line_no WHERE po_id = ${poId}`.execute(),
    kept.length
      ? db`
      UPDATE purchase_order_lines l SET line_no = x.line_no, qty = x.qty, unit_price = x.unit_price, expected_at = x.expected_at,
             uom = x.uom, uom_qty = x.uom_qty, uom_unit_price = x.uom_unit_price
      FROM jsonb_to_recordset(${db.json(kept as any)}) AS x(id text, line_no integer, qty numeric, unit_price numeric, expected_at date,
                                                            uom text, uom_qty numeric, uom_unit_price numeric)
      WHERE l.id = x.id AND l.po_id = ${poId}`.execute()
      : Promise.resolve(),
    added.length
      ? db`INSERT INTO purchase_order_lines ${db(added.map((l) => ({ ...l, po_id: poId })))}`.execute()
      : Promise.resolve(),
  ]);
}

/** Of these lines, those that a receipt (posted or not), an invoice or a vendor return names: they cannot be deleted. */
export async function referencedLines(
  db: Db,
  lineIds: string[],
): Promise<{ po_line_id: string; document: 'receipt' | 'invoice' | 'vendor return' }[]> {
  if (lineIds.length === 0) return [];
  return db<{ po_line_id: string; document: 'receipt' | 'invoice' | 'vendor return' }[]>`
    SELECT DISTINCT po_line_id, 'receipt' AS document FROM receipt_lines WHERE po_line_id = ANY(${lineIds}::text[])
    UNION
    SELECT DISTINCT po_line_id, 'invoice' AS document FROM invoice_lines WHERE po_line_id = ANY(${lineIds}::text[])
    UNION
    SELECT DISTINCT po_line_id, 'vendor return' AS document FROM vendor_return_lines WHERE po_line_id = ANY(${lineIds}::text[])
    ORDER BY po_line_id, document`;
}

/**
 * Adds invoiced, credited or returned quantities to (locked) lines: the order's representation
 * changes, so does its version; its status does not (these figures never reopen a line).
 */
export async function addToLineFigures(
  db: Db,
  poId: string,
  column: 'qty_invoiced' | 'qty_credited' | 'qty_returned',
  increments: LineIncrement[],
): Promise<PurchaseOrderRow> {
  // Both statements go out now, in this order, so that a caller can pipeline more behind them.
  const [, row] = await allInOrder([
    addToLines(db, column, increments).execute(),
    updatePurchaseOrder(db, poId, {}),
  ]);
  return row;
}

// Increments summed per line in PostgreSQL: exact decimals, and one row per line (an UPDATE ... FROM
// applies only one matching row to each target row).
export const summed = (db: Db, increments: LineIncrement[]) =>
  db`(SELECT po_line_id, sum(qty) AS qty FROM jsonb_to_recordset(${db.json(increments as any)}) AS x(po_line_id text, qty numeric) GROUP BY po_line_id)`;

// Joined with `summed`, the lines are found by their ids through the primary key: PostgreSQL takes
// the function's rows for 100, and for a table of a few thousand lines it would plan a hash join
// over a scan of all of them instead.
export const namedLines = (db: Db, increments: LineIncrement[]) =>
  db`l.id = ANY(${increments.map((i) => i.po_line_id)}::text[])`;

function addToLines(
  db: Db,
  column: 'qty_received' | 'qty_invoiced' | 'qty_credited' | 'qty_returned',
  increments: LineIncrement[],
) {
  return db`
    UPDATE purchase_order_lines l SET ${db(column)} = l.${db(column)} + v.qty
    FROM ${summed(db, increments)} v
    WHERE l.id = v.po_line_id AND ${namedLines(db, increments)}`;
}

export async function listPurchaseOrders(
  db: Db,
  f: { status?: PurchaseOrderStatus; vendor_id?: string; keyset: Keyset } & ScopedPage<unknown[]>,
): Promise<PurchaseOrderRow[]> {
  return db<PurchaseOrderRow[]>`
    SELECT ${columns(db)} FROM purchase_orders
    WHERE true
      ${f.status === undefined ? db`` : db`AND status = ${f.status}`}
      ${f.vendor_id === undefined ? db`` : db`AND vendor_id = ${f.vendor_id}`}
      ${f.allowed === null ? db`` : db`AND ship_to_warehouse_id = ANY(${f.allowed}::text[])`}
      ${keysetWhere(db, f.keyset, f.after)}
    ${keysetOrder(db, f.keyset)}
    LIMIT ${f.limit + 1}`;
}

export interface OverReceipt {
  po_line_id: string;
  ordered: number;
  received: number;
  requested: number;
  /** Not part of the problem's body (its extensions are fixed); the detail names it. */
  cancelled: number;
}

/**
 * Lines that the increments would take beyond their open quantity (ordered, less received and
 * cancelled), compared in exact decimals.
 * Call with the lines locked, so that what is compared is what the posting commits against.
 */
export async function overReceipts(db: Db, increments: LineIncrement[]): Promise<OverReceipt[]> {
  return db<OverReceipt[]>`
    SELECT l.id AS po_line_id, l.qty AS ordered, l.qty_received AS received, v.qty AS requested,
      l.qty_cancelled AS cancelled
    FROM ${summed(db, increments)} v
    JOIN purchase_order_lines l ON l.id = v.po_line_id
    WHERE l.qty_received + l.qty_cancelled + v.qty > l.qty AND ${namedLines(db, increments)}
    ORDER BY l.id`;
}

/** The warehouse each of these orders ships to (null: unassigned), by order id. */
export async function shipToOf(db: Db, poIds: string[]): Promise<Map<string, string | null>> {
  const rows = await db<{ id: string; ship_to_warehouse_id: string | null }[]>`
    SELECT id, ship_to_warehouse_id FROM purchase_orders WHERE id = ANY(${poIds})`;
  return new Map(rows.map((r) => [r.id, r.ship_to_warehouse_id]));
}

/**
 * The order's total (Σ qty × unit_price) and whether it exceeds `threshold`, both computed in
 * numeric: exact, as money must be.
 */
export async function orderTotalAbove(
  db: Db,
  poId: string,
  threshold: string,
): Promise<{ total: string; above: boolean }> {
  const [row] = await db<{ total: string; above: boolean }[]>`
    SELECT coalesce(sum(qty * unit_price), 0)::text AS total,
           coalesce(sum(qty * unit_price), 0) > ${threshold}::numeric AS above
    FROM purchase_order_lines WHERE po_id = ${poId}`;
  return row;
}
