// The figures of the 3-way match (ordered, received, invoiced quantity and price), computed in
// PostgreSQL's exact decimals. The rules that turn them into a verdict live in handlers/lib/match.ts.
import type { Db } from './client.ts';

export interface MatchFigures {
  po_id: string;
  po_line_id: string;
  item_id: string;
  ordered: number;
  received: number;
  invoiced: number;
  po_unit_price: string;
  /** Quantity-weighted average of the invoiced unit prices; null when nothing is invoiced. */
  invoiced_unit_price: string | null;
  price_variance: string | null;
  /** Distinct invoiced unit prices outside the tolerance. */
  outside_prices: string[];
  /** The price tolerance applied: the order's vendor's, or the server-wide default. */
  price_tolerance: number;
  /** The vendor's qty tolerance (0 when it has none). */
  qty_tolerance: number;
  /** Whether more is invoiced than received plus received × qty_tolerance. */
  qty_exceeds: boolean;
}

/**
 * The tolerances of the order's vendor (`o`: its purchase_orders row), a fallback for each, joined
 * in as `t`: exact decimals, so that a bound equal to the limit is inside it.
 */
const tolerances = (db: Db, serverDefault: number) => db`
  JOIN LATERAL (
    SELECT coalesce(v.price_tolerance, ${String(serverDefault)}::numeric) AS price,
           coalesce(v.qty_tolerance, 0) AS qty
    FROM vendors v WHERE v.id = o.vendor_id
  ) t ON true`;

/** Per line of each purchase order, in line order. */
export async function matchFigures(
  db: Db,
  poIds: string[],
  defaultPriceTolerance: number,
): Promise<MatchFigures[]> {
  return db<MatchFigures[]>`
    SELECT l.po_id, l.id AS po_line_id, l.item_id, l.qty AS ordered, l.qty_received - l.qty_returned AS received,
           l.qty_invoiced - l.qty_credited AS invoiced,
           l.unit_price::text AS po_unit_price,
           money_text(i.amount / i.qty) AS invoiced_unit_price,
           money_text(i.amount / i.qty - l.unit_price) AS price_variance,
           coalesce(i.outside_prices, '{}') AS outside_prices,
           t.price AS price_tolerance, t.qty AS qty_tolerance,
           l.qty_invoiced - l.qty_credited > (l.qty_received - l.qty_returned) * (1 + t.qty) AS qty_exceeds
    FROM purchase_order_lines l
    JOIN purchase_orders o ON o.id = l.po_id
    ${tolerances(db, defaultPriceTolerance)}
    LEFT JOIN LATERAL (
      -- The average price is that of what was invoiced; a credit note's prices are checked as an
      -- invoice's are. A void document counts for nothing.
      SELECT sum(il.qty) FILTER (WHERE v.type = 'INVOICE') AS qty,
             sum(il.qty * il.unit_price) FILTER (WHERE v.type = 'INVOICE') AS amount,
             array_agg(DISTINCT money_text(il.unit_price))
               FILTER (WHERE price_outside_tolerance(il.unit_price, l.unit_price, t.price)) AS outside_prices
      FROM invoice_lines il JOIN invoices v ON v.id = il.invoice_id
      WHERE il.po_line_id = l.id AND v.status <> 'VOID'
    ) i ON true
    WHERE l.po_id = ANY(${poIds})
    ORDER BY l.po_id, l.line_no`;
}

export interface InvoiceLineInput {
  po_line_id: string;
  qty: number;
  unit_price: string;
}

export interface InvoiceLineFigures {
  line_no: number;
  received: number;
  /** The PO line's invoiced total, less what is credited, once this document is recorded. */
  invoiced: number;
  /** What may still be credited on the PO line before this document: invoiced less credited. */
  creditable: number;
  po_unit_price: string;
  outside_prices: string[];
  price_tolerance: number;
  qty_tolerance: number;
  qty_exceeds: boolean;
}

/**
 * The match figures of each line of a new invoice or credit note, as they will be once it is
 * recorded: call with the PO lines locked, before adding its quantities to them. The figures come
 * from the lines' qty_invoiced and qty_credited, which a void document has already left.
 */
export async function invoiceLineFigures(
  db: Db,
  lines: InvoiceLineInput[],
  defaultPriceTolerance: number,
  type: 'INVOICE' | 'CREDIT_NOTE' = 'INVOICE',
): Promise<InvoiceLineFigures[]> {
  const input = lines.map((l, i) => ({ ...l, line_no: i }));
  const sign = type === 'CREDIT_NOTE' ? -1 : 1;
  return db<InvoiceLineFigures[]>`
    SELECT y.*, y.invoiced > y.received * (1 + y.qty_tolerance) AS qty_exceeds
    FROM (
      SELECT x.line_no, l.qty_received - l.qty_returned AS received,
             l.qty_invoiced - l.qty_credited + ${sign} * sum(x.qty) OVER (PARTITION BY x.po_line_id) AS invoiced,
             l.qty_invoiced - l.qty_credited AS creditable,
             l.unit_price::text AS po_unit_price,
             CASE WHEN price_outside_tolerance(x.unit_price, l.unit_price, t.price)
                  THEN ARRAY[money_text(x.unit_price)] ELSE '{}' END AS outside_prices,
             t.price AS price_tolerance, t.qty AS qty_tolerance
      FROM jsonb_to_recordset(${db.json(input as any)}) AS x(line_no integer, po_line_id text, qty numeric, unit_price numeric)
      JOIN purchase_order_lines l ON l.id = x.po_line_id
      JOIN purchase_orders o ON o.id = l.po_id
      ${tolerances(db, defaultPriceTolerance)}
    ) y
    ORDER BY y.line_no`;
}
