// Replenishment runs and their suggestions (db/migrations/0027_replenishment.sql). A run is worked
// out by ONE statement over all its rules (suggest): no query per rule, so a run over 10,000 rules
// costs one round trip (docs/benchmarks.md).
import type { Db } from './client.ts';
import { reservedNow } from './reservations.ts';
import type { ReorderPolicy } from './reorder-rules.ts';

export interface RunRow {
  id: string;
  warehouse_id: string | null;
  created_by: string;
  created_at: string;
  suggestion_count: number;
}

export interface SuggestionRow {
  id: string;
  run_id: string;
  rule_id: string;
  item_id: string;
  warehouse_id: string;
  vendor_id: string | null;
  qty: number;
  uom: string;
  uom_qty: number;
  /** Per uom, exact text. */
  unit_price: string | null;
  currency: string | null;
  needed_by: string | null;
  policy: ReorderPolicy;
  on_hand: number;
  reserved: number;
  held: number;
  incoming: number;
  on_order: number;
  min_qty: number;
  max_qty: number | null;
  reorder_qty: number | null;
  requisition_id: string | null;
}

const runColumns = (db: Db) => db`id, warehouse_id, created_by, created_at, suggestion_count`;

export async function insertRun(
  db: Db,
  r: { id: string; warehouse_id: string | null; created_by: string },
): Promise<void> {
  await db`
    INSERT INTO replenishment_runs (id, warehouse_id, created_by)
    VALUES (${r.id}, ${r.warehouse_id}, ${r.created_by})`;
}

/**
 * Works out the run's suggestions, for every reorder rule of an active item and warehouse (of
 * `warehouseId` only, when given), in one statement, and records how many there are. Per rule:
 *
 * - projected = on_hand − reserved − held + incoming + on_order, where held is quality_control +
 *   damaged, incoming the level's (open lines of SENT orders), and on_order what DRAFT orders
 *   shipping there and APPROVED requisitions' lines for it hold of the item;
 * - under min_qty: need = max_qty − projected (MIN_MAX) or reorder_qty (REORDER_POINT), whole for
 *   an integral item;
 * - from the item's preferred vendor item (of an active vendor): need in its purchase unit
 *   (1 unit = num/den stock units), up to the next millionth, at least its minimum, then up to a
 *   whole multiple; priced from the break with the greatest min_qty not above it; needed_by today
 *   plus its lead time. Used only when the result converts back to stock units exactly (and
 *   whole, for an integral item); otherwise, and without a vendor item, the suggestion is the
 *   need itself in stock units, with no vendor, needed today.
 *
 * Quantities are in millionths where they are rounded, so ceil() works on whole numbers.
 */
export async function suggest(db: Db, runId: string, warehouseId: string | null): Promise<RunRow> {
  const inWarehouse = (column: string) =>
    warehouseId === null ? db`` : db`AND ${db(column)} = ${warehouseId}`;
  const [row] = await db<RunRow[]>`
    WITH rules AS (
      SELECT r.id, r.item_id, r.warehouse_id, r.policy, r.min_qty, r.max_qty, r.reorder_qty,
             i.uom AS stock_uom, i.integral, i.uom_conversions
      FROM reorder_rules r
      JOIN items i ON i.id = r.item_id AND i.active
      JOIN warehouses w ON w.id = r.warehouse_id AND w.active
      WHERE true ${inWarehouse('r.warehouse_id')}
    ), drafts AS (
      SELECT l.item_id, p.ship_to_warehouse_id AS warehouse_id, sum(l.qty) AS qty
      FROM purchase_orders p JOIN purchase_order_lines l ON l.po_id = p.id
      WHERE p.status = 'DRAFT' AND p.ship_to_warehouse_id IS NOT NULL ${inWarehouse('p.ship_to_warehouse_id')}
      GROUP BY 1, 2
    ), approved AS (
      SELECT rl.item_id, rl.warehouse_id, sum(rl.qty) AS qty
      FROM requisitions q JOIN requisition_lines rl ON rl.requisition_id = q.id
      WHERE q.status = 'APPROVED' AND rl.warehouse_id IS NOT NULL ${inWarehouse('rl.warehouse_id')}
      GROUP BY 1, 2
    ), basis AS (
      SELECT r.*, coalesce(s.on_hand, 0) AS on_hand, coalesce(${reservedNow(db)}, 0) AS reserved,
             coalesce(s.quality_control + s.damaged, 0) AS held, coalesce(s.incoming, 0) AS incoming,
             coalesce(d.qty, 0) + coalesce(a.qty, 0) AS on_order
      FROM rules r
      LEFT JOIN stock_levels s ON s.item_id = r.item_id AND s.warehouse_id = r.warehouse_id
      LEFT JOIN drafts d ON d.item_id = r.item_id AND d.warehouse_id = r.warehouse_id
      LEFT JOIN approved a ON a.item_id = r.item_id AND a.warehouse_id = r.warehouse_id
    ), short AS (
      SELECT b.*, CASE WHEN b.integral THEN ceil(n.need) ELSE n.need END AS need
      FROM basis b
      CROSS JOIN LATERAL (
        SELECT b.on_hand - b.reserved - b.held + b.incoming + b.on_order AS projected) p
      CROSS JOIN LATERAL (
        SELECT CASE b.policy WHEN 'MIN_MAX' THEN b.max_qty - p.projected ELSE b.reorder_qty END AS need) n
      WHERE p.projected < b.min_qty AND n.need > 0
    ), terms AS (
      SELECT sh.*, v.vendor_item_id, v.vendor_id, v.purchase_uom, v.currency, v.lead_time_days,
             v.min_order_qty, v.order_multiple, f.num, f.den
      FROM short sh
      LEFT JOIN LATERAL (
        SELECT vi.id AS vendor_item_id, vi.vendor_id, vi.purchase_uom, vi.currency, vi.lead_time_days,
               vi.min_order_qty, vi.order_multiple
        FROM vendor_items vi JOIN vendors ve ON ve.id = vi.vendor_id AND ve.active
        WHERE vi.item_id = sh.item_id AND vi.preferred) v ON true
      -- 1 purchase unit = num/den stock units; none when the item no longer names the unit.
      LEFT JOIN LATERAL (
        SELECT 1::numeric AS num, 1::numeric AS den WHERE v.purchase_uom = sh.stock_uom
        UNION ALL
        SELECT (c->>'numerator')::numeric, (c->>'denominator')::numeric
        FROM jsonb_array_elements(sh.uom_conversions) c
        WHERE v.purchase_uom <> sh.stock_uom AND c->>'uom' = v.purchase_uom
        LIMIT 1) f ON true
    ), rounded AS (
      SELECT t.*, m.purchase_micro
      FROM terms t
      LEFT JOIN LATERAL (
        SELECT CASE WHEN t.order_multiple IS NULL THEN q.at_least
                    ELSE ceil(q.at_least / (t.order_multiple * 1000000)) * (t.order_multiple * 1000000)
               END AS purchase_micro
        FROM (SELECT greatest(ceil(t.need * 1000000 * t.den / t.num),
                              coalesce(t.min_order_qty * 1000000, 0)) AS at_least) q
        WHERE t.num IS NOT NULL) m ON true
    ), final AS (
      SELECT r.*,
             coalesce(mod(r.purchase_micro * r.num, r.den) = 0
                      AND (NOT r.integral OR mod(r.purchase_micro * r.num / r.den, 1000000) = 0), false) AS usable
      FROM rounded r
    ), made AS (
      INSERT INTO replenishment_suggestions (
        id, run_id, rule_id, item_id, warehouse_id, vendor_id, qty, uom, uom_qty, unit_price, currency,
        needed_by, policy, on_hand, reserved, held, incoming, on_order, min_qty, max_qty, reorder_qty)
      SELECT ${runId} || '-' || lpad((row_number() OVER (ORDER BY f.item_id, f.warehouse_id))::text, 6, '0'),
             ${runId}, f.id, f.item_id, f.warehouse_id,
             CASE WHEN f.usable THEN f.vendor_id END,
             CASE WHEN f.usable THEN round(f.purchase_micro * f.num / f.den / 1000000, 6) ELSE f.need END,
             CASE WHEN f.usable THEN f.purchase_uom ELSE f.stock_uom END,
             CASE WHEN f.usable THEN round(f.purchase_micro / 1000000, 6) ELSE f.need END,
             pb.unit_price,
             CASE WHEN f.usable THEN f.currency END,
             CASE WHEN f.usable THEN current_date + f.lead_time_days ELSE current_date END,
             f.policy, f.on_hand, f.reserved, f.held, f.incoming, f.on_order, f.min_qty, f.max_qty, f.reorder_qty
      FROM final f
      LEFT JOIN LATERAL (
        SELECT b.unit_price FROM vendor_item_price_breaks b
        WHERE f.usable AND b.vendor_item_id = f.vendor_item_id AND b.min_qty * 1000000 <= f.purchase_micro
        ORDER BY b.min_qty DESC LIMIT 1) pb ON true
      RETURNING 1)
    UPDATE replenishment_runs SET suggestion_count = (SELECT count(*) FROM made)
    WHERE id = ${runId}
    RETURNING ${runColumns(db)}`;
  return row;
}

export async function findRun(db: Db, id: string, { lock = false } = {}): Promise<RunRow | null> {
  const [row] = await db<RunRow[]>`
    SELECT ${runColumns(db)} FROM replenishment_runs WHERE id = ${id} ${lock ? db`FOR UPDATE` : db``}`;
  return row ?? null;
}

const suggestionColumns = (db: Db) => db`
  id, run_id, rule_id, item_id, warehouse_id, vendor_id, qty, uom, uom_qty, unit_price::text AS unit_price,
  currency, needed_by, policy, on_hand, reserved, held, incoming, on_order, min_qty, max_qty, reorder_qty,
  requisition_id`;

/** A page of the run's suggestions, by id (their item and warehouse order). */
export async function listSuggestions(
  db: Db,
  f: { runId: string; after: [string] | null; limit: number },
): Promise<SuggestionRow[]> {
  return db<SuggestionRow[]>`
    SELECT ${suggestionColumns(db)} FROM replenishment_suggestions
    WHERE run_id = ${f.runId} ${f.after === null ? db`` : db`AND id > ${f.after[0]}`}
    ORDER BY id LIMIT ${f.limit + 1}`;
}

/** The run's suggestions: these ids (those that are the run's), or all. The caller holds the run's lock. */
export async function suggestionsOf(
  db: Db,
  runId: string,
  ids: string[] | null,
): Promise<SuggestionRow[]> {
  return db<SuggestionRow[]>`
    SELECT ${suggestionColumns(db)} FROM replenishment_suggestions
    WHERE run_id = ${runId} ${ids === null ? db`` : db`AND id = ANY(${ids}::text[])`}
    ORDER BY id`;
}

export async function markRequisitioned(
  db: Db,
  ids: string[],
  requisitionId: string,
): Promise<void> {
  await db`
    UPDATE replenishment_suggestions SET requisition_id = ${requisitionId}
    WHERE id = ANY(${ids}::text[]) AND requisition_id IS NULL`;
}
