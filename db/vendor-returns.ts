import type { GivenUnits } from './purchase-orders.ts';
import { allInOrder, type Db } from './client.ts';
import { keysetOrder, keysetWhere, type Keyset } from './keyset.ts';
import type { ScopedPage } from './listing.ts';
import { namedLines, summed, type LineIncrement } from './purchase-orders.ts';

export interface VendorReturnRow {
  id: string;
  po_id: string;
  warehouse_id: string;
  reason: string;
  stock_move_id: string;
  created_by: string;
  created_at: string;
}

export interface VendorReturnLine {
  po_line_id: string;
  item_id: string;
  qty: number;
  batch?: string;
  /** Where the units come out of; else picked. */
  from_location?: string;
  serials?: string[];
  /** The unit the quantity was given in, when not stock units (stored to echo it). */
  given?: GivenUnits;
}

export interface VendorReturnLineRow {
  vendor_return_id: string;
  po_line_id: string;
  item_id: string;
  qty: number;
  batch: string | null;
  from_location: string | null;
  serials: string[];
  uom: string | null;
  uom_qty: number | null;
}

const columns = (db: Db) =>
  db`id, po_id, warehouse_id, reason, stock_move_id, created_by, created_at`;

/** A new return with its lines (its statements are sent when called, in order). */
export async function insertVendorReturn(
  db: Db,
  r: Omit<VendorReturnRow, 'created_at'>,
  lines: VendorReturnLine[],
): Promise<VendorReturnRow> {
  const rows = lines.map((l, i) => ({
    vendor_return_id: r.id,
    line_no: i,
    po_line_id: l.po_line_id,
    item_id: l.item_id,
    qty: l.qty,
    batch: l.batch ?? null,
    from_location: l.from_location ?? null,
    serials: l.serials ?? [],
    uom: l.given?.uom ?? null,
    uom_qty: l.given?.uom_qty ?? null,
  }));
  const [[row]] = await allInOrder([
    db<VendorReturnRow[]>`
    INSERT INTO vendor_returns (id, po_id, warehouse_id, reason, stock_move_id, created_by)
    VALUES (${r.id}, ${r.po_id}, ${r.warehouse_id}, ${r.reason}, ${r.stock_move_id}, ${r.created_by})
    RETURNING ${columns(db)}`.execute(),
    db`INSERT INTO vendor_return_lines ${db(rows)}`.execute(),
  ]);
  return row;
}

export async function findVendorReturn(db: Db, id: string): Promise<VendorReturnRow | null> {
  const [row] = await db<
    VendorReturnRow[]
  >`SELECT ${columns(db)} FROM vendor_returns WHERE id = ${id}`;
  return row ?? null;
}

/** The return that posted this stock move, if one did. */
export async function vendorReturnOfMove(db: Db, moveId: string): Promise<string | null> {
  const [row] = await db<{ id: string }[]>`
    SELECT id FROM vendor_returns WHERE stock_move_id = ${moveId}`;
  return row?.id ?? null;
}

export async function vendorReturnLines(
  db: Db,
  returnIds: string[],
): Promise<VendorReturnLineRow[]> {
  return db<VendorReturnLineRow[]>`
    SELECT vendor_return_id, po_line_id, item_id, qty, batch, serials, from_location, uom, uom_qty
    FROM vendor_return_lines WHERE vendor_return_id = ANY(${returnIds})
    ORDER BY vendor_return_id, line_no`;
}

export async function listVendorReturns(
  db: Db,
  f: { po_id?: string; keyset: Keyset } & ScopedPage<unknown[]>,
): Promise<VendorReturnRow[]> {
  return db<VendorReturnRow[]>`
    SELECT ${columns(db)} FROM vendor_returns
    WHERE true
      ${f.po_id === undefined ? db`` : db`AND po_id = ${f.po_id}`}
      ${f.allowed === null ? db`` : db`AND warehouse_id = ANY(${f.allowed}::text[])`}
      ${keysetWhere(db, f.keyset, f.after)}
    ${keysetOrder(db, f.keyset)}
    LIMIT ${f.limit + 1}`;
}

export interface OverReturn {
  po_line_id: string;
  received: number;
  returned: number;
  requested: number;
}

/**
 * Lines that the increments would return beyond what is left of what was received (received less
 * returned), compared in exact decimals. Call with the lines locked, so that what is compared is
 * what the return commits against.
 */
export async function overReturns(db: Db, increments: LineIncrement[]): Promise<OverReturn[]> {
  return db<OverReturn[]>`
    SELECT l.id AS po_line_id, l.qty_received AS received, l.qty_returned AS returned, v.qty AS requested
    FROM ${summed(db, increments)} v
    JOIN purchase_order_lines l ON l.id = v.po_line_id
    WHERE l.qty_returned + v.qty > l.qty_received AND ${namedLines(db, increments)}
    ORDER BY l.id`;
}
