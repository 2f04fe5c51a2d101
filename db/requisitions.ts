import type { GivenUnits } from './purchase-orders.ts';
import type { Db } from './client.ts';
import { newId } from './ids.ts';
import { keysetOrder, keysetWhere, type Keyset } from './keyset.ts';
import type { ScopedPage } from './listing.ts';

export type RequisitionStatus = 'DRAFT' | 'APPROVED' | 'ORDERED';

export interface RequisitionRow {
  id: string;
  requester_id: string;
  status: RequisitionStatus;
  notes: string | null;
  approved_by: string | null;
  approved_at: string | null;
  /**
   * Who created it, and who last replaced its lines (null: nobody since): with the requester,
   * they may not approve it (docs/standards.md §3). Not shown by the API.
   */
  created_by: string;
  updated_by: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface RequisitionLineInput {
  item_id: string;
  qty: number;
  vendor_id?: string;
  unit_price?: string;
  needed_by?: string;
  warehouse_id?: string;
  /** The unit the line was given in, when not stock units (stored to echo it). */
  given?: GivenUnits;
}

export interface RequisitionLineRow {
  id: string;
  requisition_id: string;
  item_id: string;
  qty: number;
  vendor_id: string | null;
  unit_price: string | null;
  needed_by: string | null;
  warehouse_id: string | null;
  uom: string | null;
  uom_qty: number | null;
  uom_unit_price: string | null;
}

const columns = (db: Db) =>
  db`id, requester_id, status, notes, approved_by, approved_at, created_by, updated_by, version, created_at, updated_at`;

export async function insertRequisition(
  db: Db,
  r: { id: string; requester_id: string; created_by: string; notes: string | null },
): Promise<RequisitionRow> {
  const [row] = await db<RequisitionRow[]>`
    INSERT INTO requisitions (id, requester_id, created_by, notes)
    VALUES (${r.id}, ${r.requester_id}, ${r.created_by}, ${r.notes})
    RETURNING ${columns(db)}`;
  return row;
}

/** Replaces all lines of the requisition (lines carry no identity a client could keep). */
export async function replaceRequisitionLines(
  db: Db,
  requisitionId: string,
  lines: RequisitionLineInput[],
): Promise<void> {
  await db`DELETE FROM requisition_lines WHERE requisition_id = ${requisitionId}`;
  const rows = lines.map((l, i) => ({
    id: newId('rql'),
    requisition_id: requisitionId,
    line_no: i,
    item_id: l.item_id,
    qty: l.qty,
    vendor_id: l.vendor_id ?? null,
    unit_price: l.unit_price ?? null,
    needed_by: l.needed_by ?? null,
    warehouse_id: l.warehouse_id ?? null,
    uom: l.given?.uom ?? null,
    uom_qty: l.given?.uom_qty ?? null,
    uom_unit_price: l.given?.uom_unit_price ?? null,
  }));
  await db`INSERT INTO requisition_lines ${db(rows)}`;
}

export async function findRequisition(
  db: Db,
  id: string,
  { lock = false } = {},
): Promise<RequisitionRow | null> {
  const [row] = await db<
    RequisitionRow[]
  >`SELECT ${columns(db)} FROM requisitions WHERE id = ${id} ${lock ? db`FOR UPDATE` : db``}`;
  return row ?? null;
}

export async function requisitionLines(
  db: Db,
  requisitionIds: string[],
): Promise<RequisitionLineRow[]> {
  return db<RequisitionLineRow[]>`
    SELECT id, requisition_id, item_id, qty, vendor_id, unit_price::text AS unit_price, needed_by, warehouse_id,
           uom, uom_qty, uom_unit_price::text AS uom_unit_price
    FROM requisition_lines WHERE requisition_id = ANY(${requisitionIds})
    ORDER BY requisition_id, line_no`;
}

/** The purchase orders converted from each requisition (the link is purchase_orders.requisition_id). */
export async function purchaseOrderIdsByRequisition(
  db: Db,
  requisitionIds: string[],
): Promise<{ requisition_id: string; id: string }[]> {
  return db<{ requisition_id: string; id: string }[]>`
    SELECT requisition_id, id FROM purchase_orders WHERE requisition_id = ANY(${requisitionIds}) ORDER BY requisition_id, id`;
}

/** approved_by also stamps approved_at. */
export type RequisitionChange = Partial<
  Pick<RequisitionRow, 'status' | 'notes' | 'approved_by' | 'updated_by'>
>;

/** Applies the change and moves the requisition to its next version. */
export async function updateRequisition(
  db: Db,
  id: string,
  change: RequisitionChange,
): Promise<RequisitionRow> {
  const [row] = await db<RequisitionRow[]>`
    UPDATE requisitions SET
      ${change.status === undefined ? db`` : db`status = ${change.status},`}
      ${change.notes === undefined ? db`` : db`notes = ${change.notes},`}
      ${change.updated_by === undefined ? db`` : db`updated_by = ${change.updated_by},`}
      ${change.approved_by === undefined ? db`` : db`approved_by = ${change.approved_by}, approved_at = now(),`}
      version = version + 1, updated_at = now()
    WHERE id = ${id}
    RETURNING ${columns(db)}`;
  return row;
}

export async function listRequisitions(
  db: Db,
  f: { status?: RequisitionStatus; keyset: Keyset } & ScopedPage<unknown[]>,
): Promise<RequisitionRow[]> {
  return db<RequisitionRow[]>`
    SELECT ${columns(db)} FROM requisitions r
    WHERE true
      ${f.status === undefined ? db`` : db`AND status = ${f.status}`}
      ${
        f.allowed === null
          ? db``
          : db`AND r.id IN (SELECT requisition_id FROM requisition_lines WHERE warehouse_id = ANY(${f.allowed}::text[]))`
      }
      ${keysetWhere(db, f.keyset, f.after)}
    ${keysetOrder(db, f.keyset)}
    LIMIT ${f.limit + 1}`;
}
