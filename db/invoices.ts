import type { Db } from './client.ts';
import { keysetOrder, keysetWhere, type Keyset } from './keyset.ts';
import type { ScopedPage } from './listing.ts';

export type InvoiceMatchStatus = 'MATCHED' | 'EXCEPTION';
export type InvoiceType = 'INVOICE' | 'CREDIT_NOTE';
export type InvoiceStatus = 'RECORDED' | 'VOID';

export interface InvoiceRow {
  id: string;
  vendor_id: string;
  po_id: string;
  number: string;
  currency: string;
  type: InvoiceType;
  status: InvoiceStatus;
  match_status: InvoiceMatchStatus;
  version: number;
  accepted_by: string | null;
  accepted_reason: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
}

export interface InvoiceLineRow {
  invoice_id: string;
  po_line_id: string;
  qty: number;
  unit_price: string;
  status: InvoiceMatchStatus;
  reasons: { code: 'qty_invoiced_exceeds_received' | 'price_outside_tolerance'; detail: string }[];
  /** The unit the line was given in (with its price per that unit); null when in stock units. */
  uom: string | null;
  uom_qty: number | null;
  uom_unit_price: string | null;
}

const columns = (db: Db) =>
  db`id, vendor_id, po_id, number, currency, type, status, match_status, version, accepted_by, accepted_reason, created_by, created_at, updated_at`;

/**
 * Inserts the invoice; null when its vendor already has an invoice with this number. The unique
 * index decides, so two invoices racing with one number cannot both be recorded.
 */
export async function insertInvoice(
  db: Db,
  inv: Pick<
    InvoiceRow,
    'id' | 'vendor_id' | 'po_id' | 'number' | 'currency' | 'type' | 'match_status' | 'created_by'
  >,
): Promise<InvoiceRow | null> {
  const [row] = await db<InvoiceRow[]>`
    INSERT INTO invoices (id, vendor_id, po_id, number, currency, type, match_status, created_by)
    VALUES (${inv.id}, ${inv.vendor_id}, ${inv.po_id}, ${inv.number}, ${inv.currency}, ${inv.type}, ${inv.match_status}, ${inv.created_by})
    ON CONFLICT DO NOTHING
    RETURNING ${columns(db)}`;
  return row ?? null;
}

/** Sends its statement when called, so that reads of the same request can follow it in one round trip. */
export async function insertInvoiceLines(
  db: Db,
  invoiceId: string,
  lines: Omit<InvoiceLineRow, 'invoice_id'>[],
): Promise<void> {
  const rows = lines.map((l, i) => ({
    ...l,
    invoice_id: invoiceId,
    line_no: i,
    reasons: db.json(l.reasons as any),
  }));
  await db`INSERT INTO invoice_lines ${db(rows)}`.execute();
}

export async function findInvoice(
  db: Db,
  id: string,
  { lock = false } = {},
): Promise<InvoiceRow | null> {
  const [row] = await db<InvoiceRow[]>`
    SELECT ${columns(db)} FROM invoices WHERE id = ${id} ${lock ? db`FOR UPDATE` : db``}`;
  return row ?? null;
}

/** Applies the change and moves the invoice to its next version. */
export async function updateInvoice(
  db: Db,
  id: string,
  change: { status?: InvoiceStatus; accepted_by?: string; accepted_reason?: string },
): Promise<InvoiceRow> {
  const [row] = await db<InvoiceRow[]>`
    UPDATE invoices SET
      ${change.status === undefined ? db`` : db`status = ${change.status},`}
      ${change.accepted_by === undefined ? db`` : db`accepted_by = ${change.accepted_by}, accepted_reason = ${change.accepted_reason ?? null},`}
      version = version + 1, updated_at = now()
    WHERE id = ${id}
    RETURNING ${columns(db)}`;
  return row;
}

export async function invoiceLines(db: Db, invoiceIds: string[]): Promise<InvoiceLineRow[]> {
  return db<InvoiceLineRow[]>`
    SELECT invoice_id, po_line_id, qty, unit_price::text AS unit_price, status, reasons,
           uom, uom_qty, uom_unit_price::text AS uom_unit_price
    FROM invoice_lines WHERE invoice_id = ANY(${invoiceIds}) ORDER BY invoice_id, line_no`;
}

export async function listInvoices(
  db: Db,
  f: {
    po_id?: string;
    vendor_id?: string;
    match_status?: InvoiceMatchStatus;
    keyset: Keyset;
  } & ScopedPage<unknown[]>,
): Promise<InvoiceRow[]> {
  return db<InvoiceRow[]>`
    SELECT ${columns(db)} FROM invoices i
    WHERE true
      ${f.po_id === undefined ? db`` : db`AND po_id = ${f.po_id}`}
      ${f.vendor_id === undefined ? db`` : db`AND vendor_id = ${f.vendor_id}`}
      ${f.match_status === undefined ? db`` : db`AND match_status = ${f.match_status}`}
      ${
        f.allowed === null
          ? db``
          : db`AND i.po_id IN (SELECT id FROM purchase_orders WHERE ship_to_warehouse_id = ANY(${f.allowed}::text[]))`
      }
      ${keysetWhere(db, f.keyset, f.after)}
    ${keysetOrder(db, f.keyset)}
    LIMIT ${f.limit + 1}`;
}
