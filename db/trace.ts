// A batch's or a serial's path through the ledger (GET /inventory/trace): each posted line that
// carries it, seen from each warehouse it touched, and where it is now.
import type { Db } from './client.ts';
import type { ScopedPage } from './listing.ts';

/** One batch of an item, or one serial number of it. */
export type Traced = { item_id: string } & ({ batch: string } | { serial: string });

export interface TraceRow {
  at: string;
  move_id: string;
  line_no: number;
  /** 0 for the OUT side of a line, 1 for its IN side: a TRANSFER leaves before it arrives. */
  leg: number;
  direction: 'IN' | 'OUT';
  warehouse_id: string;
  qty: number;
  reference: string | null;
  receipt_id: string | null;
  /** The receipt's warehouse and order, and that order's vendor and warehouse (receipt moves only). */
  receipt_warehouse_id: string | null;
  po_id: string | null;
  vendor_id: string | null;
  po_warehouse_id: string | null;
}

/** The keyset key of a trace entry: lines in posting order, each line's OUT before its IN. */
export const traceKey = (r: TraceRow): unknown[] => [r.at, r.move_id, r.line_no, r.leg];

const carries = (db: Db, t: Traced) =>
  'batch' in t ? db`l.batch = ${t.batch}` : db`l.serials @> ARRAY[${t.serial}]::text[]`;

/**
 * Entries oldest first. A line moves stock out of `from_wh` (ISSUE, TRANSFER) and into `to_wh`
 * (RECEIPT, TRANSFER); an ADJUSTMENT moves it into or out of `to_wh` by its sign. Reversals are
 * moves of the opposite type, so they need no case of their own. `allowed` keeps the entries of
 * the reader's warehouses: one side of a transfer may be visible and the other not.
 */
export async function traceEntries(
  db: Db,
  t: Traced,
  f: ScopedPage<unknown[]>,
): Promise<TraceRow[]> {
  const a = f.after;
  return db<TraceRow[]>`
    SELECT m.created_at AS at, m.id AS move_id, l.line_no, x.leg, x.direction, x.warehouse_id,
           ${'batch' in t ? db`abs(l.qty)` : db`1`} AS qty,
           m.reference, m.receipt_id, r.warehouse_id AS receipt_warehouse_id,
           r.po_id, p.vendor_id, p.ship_to_warehouse_id AS po_warehouse_id
    FROM stock_move_lines l
    JOIN stock_moves m ON m.id = l.move_id
    CROSS JOIN LATERAL (VALUES
      (0, 'OUT', CASE WHEN m.type IN ('ISSUE', 'TRANSFER') THEN m.from_wh
                      WHEN m.type = 'ADJUSTMENT' AND l.qty < 0 THEN m.to_wh END),
      (1, 'IN', CASE WHEN m.type IN ('RECEIPT', 'TRANSFER') THEN m.to_wh
                     WHEN m.type = 'ADJUSTMENT' AND l.qty > 0 THEN m.to_wh END)
    ) AS x (leg, direction, warehouse_id)
    LEFT JOIN receipts r ON r.id = m.receipt_id
    LEFT JOIN purchase_orders p ON p.id = r.po_id
    WHERE l.item_id = ${t.item_id} AND ${carries(db, t)}
      AND x.warehouse_id IS NOT NULL
      ${f.allowed === null ? db`` : db`AND x.warehouse_id = ANY(${f.allowed}::text[])`}
      ${
        a === null
          ? db``
          : db`AND (m.created_at, m.id, l.line_no, x.leg) > (${a[0] as string}::timestamptz, ${a[1] as string}, ${a[2] as number}::int, ${a[3] as number}::int)`
      }
    ORDER BY m.created_at, m.id, l.line_no, x.leg
    LIMIT ${f.limit + 1}`;
}

/** Where the batch or serial is now: its quantity on hand per warehouse, of those `allowed`. */
export async function traceOnHand(
  db: Db,
  t: Traced,
  allowed: string[] | null,
): Promise<{ warehouse_id: string; qty: number }[]> {
  const visible = allowed === null ? db`` : db`AND warehouse_id = ANY(${allowed}::text[])`;
  return 'batch' in t
    ? db<{ warehouse_id: string; qty: number }[]>`
        SELECT warehouse_id, on_hand AS qty FROM batch_levels
        WHERE item_id = ${t.item_id} AND batch = ${t.batch} AND on_hand > 0 ${visible}
        ORDER BY warehouse_id`
    : db<{ warehouse_id: string; qty: number }[]>`
        SELECT warehouse_id, 1 AS qty FROM serials
        WHERE item_id = ${t.item_id} AND serial = ${t.serial} AND status = 'IN_STOCK' ${visible}
        ORDER BY warehouse_id`;
}
