import type { GivenUnits } from './purchase-orders.ts';
import { allInOrder, type Db } from './client.ts';
import { keysetOrder, keysetWhere, type Keyset } from './keyset.ts';
import type { ScopedPage } from './listing.ts';
import type { HeldState } from './stock-moves.ts';

export type ReceiptStatus = 'PENDING' | 'POSTED';

export interface ReceiptRow {
  id: string;
  po_id: string;
  warehouse_id: string;
  status: ReceiptStatus;
  stock_move_id: string | null;
  posted_at: string | null;
  /** Set, with reversed_by_move, once the receipt is reversed (it stays POSTED). */
  reversed_at: string | null;
  /** The stock move that took its goods back out. */
  reversed_by_move: string | null;
  version: number;
  created_by: string;
  created_at: string;
  updated_at: string;
}

export interface ReceiptLine {
  po_line_id: string;
  item_id: string;
  qty_received: number;
  batch?: string;
  expires_at?: string;
  serials?: string[];
  /** Received held in this state (quality control) instead of unrestricted. */
  to_state?: HeldState;
  /** The location the goods go to; else putaway. */
  to_location?: string;
  /** The unit the quantity was given in, when not stock units (stored to echo it). */
  given?: GivenUnits;
}

export interface ReceiptLineRow {
  receipt_id: string;
  po_line_id: string;
  item_id: string;
  qty_received: number;
  batch: string | null;
  expires_at: string | null;
  serials: string[];
  to_state: HeldState | null;
  to_location: string | null;
  uom: string | null;
  uom_qty: number | null;
}

const columns = (db: Db) =>
  db`id, po_id, warehouse_id, status, stock_move_id, posted_at, reversed_at, reversed_by_move, version, created_by, created_at, updated_at`;

// The writes below send their statements the moment they are called, in order, so that callers
// can pipeline further statements (the reads that show the result) behind them.

/** A new receipt with its lines: PENDING, or POSTED by the stock move that brought its goods in. */
export async function insertReceipt(
  db: Db,
  r: Pick<ReceiptRow, 'id' | 'po_id' | 'warehouse_id' | 'created_by'> & {
    stock_move_id: string | null;
  },
  lines: ReceiptLine[],
): Promise<ReceiptRow> {
  const posted = r.stock_move_id !== null;
  const [[row]] = await allInOrder([
    db<ReceiptRow[]>`
    INSERT INTO receipts (id, po_id, warehouse_id, status, stock_move_id, posted_at, created_by)
    VALUES (${r.id}, ${r.po_id}, ${r.warehouse_id}, ${posted ? 'POSTED' : 'PENDING'}, ${r.stock_move_id}, ${posted ? db`now()` : null}, ${r.created_by})
    RETURNING ${columns(db)}`.execute(),
    insertLines(db, r.id, lines),
  ]);
  return row;
}

function insertLines(db: Db, receiptId: string, lines: ReceiptLine[]) {
  const rows = lines.map((l, i) => ({
    receipt_id: receiptId,
    line_no: i,
    po_line_id: l.po_line_id,
    item_id: l.item_id,
    qty_received: l.qty_received,
    batch: l.batch ?? null,
    expires_at: l.expires_at ?? null,
    serials: l.serials ?? [],
    to_state: l.to_state ?? null,
    to_location: l.to_location ?? null,
    uom: l.given?.uom ?? null,
    uom_qty: l.given?.uom_qty ?? null,
  }));
  return db`INSERT INTO receipt_lines ${db(rows)}`.execute();
}

export async function replaceReceiptLines(
  db: Db,
  receiptId: string,
  lines: ReceiptLine[],
): Promise<void> {
  await allInOrder([
    db`DELETE FROM receipt_lines WHERE receipt_id = ${receiptId}`.execute(),
    insertLines(db, receiptId, lines),
  ]);
}

export async function findReceipt(
  db: Db,
  id: string,
  { lock = false } = {},
): Promise<ReceiptRow | null> {
  const [row] = await db<
    ReceiptRow[]
  >`SELECT ${columns(db)} FROM receipts WHERE id = ${id} ${lock ? db`FOR UPDATE` : db``}`;
  return row ?? null;
}

export async function receiptLines(db: Db, receiptIds: string[]): Promise<ReceiptLineRow[]> {
  return db<ReceiptLineRow[]>`
    SELECT receipt_id, po_line_id, item_id, qty_received, batch, expires_at, serials, to_state, to_location, uom, uom_qty
    FROM receipt_lines WHERE receipt_id = ANY(${receiptIds}) ORDER BY receipt_id, line_no`;
}

/**
 * Applies the change (warehouse, posting by a stock move, or reversal by one) and moves the
 * receipt to its next version.
 */
export async function updateReceipt(
  db: Db,
  id: string,
  change: { warehouse_id?: string; stock_move_id?: string; reversed_by_move?: string },
): Promise<ReceiptRow> {
  const [row] = await db<ReceiptRow[]>`
    UPDATE receipts SET
      ${change.warehouse_id === undefined ? db`` : db`warehouse_id = ${change.warehouse_id},`}
      ${change.stock_move_id === undefined ? db`` : db`status = 'POSTED', stock_move_id = ${change.stock_move_id}, posted_at = now(),`}
      ${change.reversed_by_move === undefined ? db`` : db`reversed_by_move = ${change.reversed_by_move}, reversed_at = now(),`}
      version = version + 1, updated_at = now()
    WHERE id = ${id}
    RETURNING ${columns(db)}`.execute();
  return row;
}

export async function listReceipts(
  db: Db,
  f: { po_id?: string; status?: ReceiptStatus; reversed?: boolean; keyset: Keyset } & ScopedPage<
    unknown[]
  >,
): Promise<ReceiptRow[]> {
  return db<ReceiptRow[]>`
    SELECT ${columns(db)} FROM receipts
    WHERE true
      ${f.po_id === undefined ? db`` : db`AND po_id = ${f.po_id}`}
      ${f.status === undefined ? db`` : db`AND status = ${f.status}`}
      ${f.reversed === undefined ? db`` : f.reversed ? db`AND reversed_at IS NOT NULL` : db`AND reversed_at IS NULL`}
      ${f.allowed === null ? db`` : db`AND warehouse_id = ANY(${f.allowed}::text[])`}
      ${keysetWhere(db, f.keyset, f.after)}
    ${keysetOrder(db, f.keyset)}
    LIMIT ${f.limit + 1}`;
}
