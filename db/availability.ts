// Incoming stock and availability: the open quantity of SENT purchase orders, by the level it goes
// to and by the date it is expected. The levels' `incoming` and `undated_incoming` columns are kept
// by the database itself (db/migrations/0022_incoming.sql); these reads go to the order lines.
import type { Db } from './client.ts';
import type { StockKey } from './stock.ts';

/** What one order has open, per level it counts for (none unless SENT with a ship-to warehouse). */
export interface OpenOfOrder extends StockKey {
  /** Exact decimal strings. */
  incoming: string;
  undated: string;
}

const open = (db: Db) => db`l.qty - l.qty_received - l.qty_cancelled`;

export function openOfOrder(db: Db, poId: string): Promise<OpenOfOrder[]> {
  return db<OpenOfOrder[]>`
    SELECT l.item_id, p.ship_to_warehouse_id AS warehouse_id,
      sum(${open(db)})::text AS incoming,
      sum(CASE WHEN l.expected_at IS NULL THEN ${open(db)} ELSE 0 END)::text AS undated
    FROM purchase_order_lines l JOIN purchase_orders p ON p.id = l.po_id
    WHERE p.id = ${poId} AND p.status = 'SENT' AND p.ship_to_warehouse_id IS NOT NULL
    GROUP BY l.item_id, p.ship_to_warehouse_id
    ORDER BY l.item_id, p.ship_to_warehouse_id`;
}

/** A level after its incoming changed, its updated_at moved on (the caller's order holds its lock). */
export interface IncomingLevel extends StockKey {
  on_hand: number;
  reserved: number;
  incoming: number;
  undated_incoming: number;
  quality_control: number;
  damaged: number;
  updated_at: string;
}

/**
 * Marks these levels (whose incoming a purchase order's change just changed, under the row locks
 * the change took) as changed now, and returns them as they are.
 */
export function touchLevels(db: Db, keys: StockKey[]): Promise<IncomingLevel[]> {
  if (!keys.length) return Promise.resolve([]);
  return db<IncomingLevel[]>`
    UPDATE stock_levels s SET updated_at = greatest(s.updated_at, now())
    FROM unnest(${keys.map((k) => k.item_id)}::text[], ${keys.map((k) => k.warehouse_id)}::text[]) AS k(item_id, warehouse_id)
    WHERE s.item_id = k.item_id AND s.warehouse_id = k.warehouse_id
    RETURNING s.item_id, s.warehouse_id, s.on_hand, s.reserved, s.incoming, s.undated_incoming, s.quality_control, s.damaged, s.updated_at`;
}

export interface DatedIncoming {
  /** YYYY-MM-DD. */
  date: string;
  incoming: number;
}

/** The item's open quantity on dated lines of SENT orders shipping to the warehouse, per date, ascending. */
export function incomingByDate(
  db: Db,
  key: StockKey,
  until: string | undefined,
): Promise<DatedIncoming[]> {
  return db<DatedIncoming[]>`
    SELECT to_char(l.expected_at, 'YYYY-MM-DD') AS date, sum(${open(db)}) AS incoming
    FROM purchase_order_lines l JOIN purchase_orders p ON p.id = l.po_id
    WHERE l.item_id = ${key.item_id} AND p.ship_to_warehouse_id = ${key.warehouse_id}
      AND p.status = 'SENT' AND l.expected_at IS NOT NULL
      AND l.qty_received + l.qty_cancelled < l.qty
      ${until === undefined ? db`` : db`AND l.expected_at <= ${until}::date`}
    GROUP BY l.expected_at
    ORDER BY l.expected_at`;
}

/**
 * Locks the existing levels of these keys in (item_id, warehouse_id) order, as the ledger does: a
 * change of an order that moves incoming in several statements (a revision deletes, updates and
 * inserts lines) takes them all at once, first, rather than in the order of its statements.
 */
export async function lockIncomingLevels(db: Db, keys: StockKey[]): Promise<void> {
  if (!keys.length) return;
  await db`
    SELECT 1 FROM stock_levels
    WHERE (item_id, warehouse_id) IN (SELECT * FROM unnest(${keys.map((k) => k.item_id)}::text[], ${keys.map((k) => k.warehouse_id)}::text[]))
    ORDER BY item_id, warehouse_id
    FOR UPDATE`;
}
