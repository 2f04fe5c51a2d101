// Recomputes what the ledger says and compares it with what the API serves: the invariants of
// API.md. Used after benchmarks and by the crash/property tests. Returns human-readable violations
// (empty when everything holds) and how many checks ran.
import type { Db } from '../../db/client.ts';

export interface InvariantReport {
  checks: number;
  violations: string[];
}

/** Stock per (item, warehouse) implied by posted moves: ISSUE/TRANSFER take from from_wh; RECEIPT/TRANSFER/ADJUSTMENT (signed) add to to_wh. */
const ledgerStock = (db: Db) => db`
  SELECT item_id, warehouse_id, sum(delta) AS on_hand FROM (
    SELECT l.item_id, m.from_wh AS warehouse_id, -l.qty AS delta
      FROM stock_move_lines l JOIN stock_moves m ON m.id = l.move_id WHERE m.type IN ('ISSUE', 'TRANSFER')
    UNION ALL
    SELECT l.item_id, m.to_wh, l.qty
      FROM stock_move_lines l JOIN stock_moves m ON m.id = l.move_id WHERE m.type IN ('RECEIPT', 'TRANSFER', 'ADJUSTMENT')
  ) deltas GROUP BY item_id, warehouse_id`;

async function tableExists(db: Db, name: string): Promise<boolean> {
  const [row] = await db`SELECT to_regclass(${name}) IS NOT NULL AS exists`;
  return row.exists;
}

export async function checkInvariants(db: Db): Promise<InvariantReport> {
  const violations: string[] = [];
  let checks = 0;
  const check = (rows: Record<string, unknown>[], what: string) => {
    checks++;
    for (const row of rows.slice(0, 20)) violations.push(`${what}: ${JSON.stringify(row)}`);
    if (rows.length > 20) violations.push(`${what}: … and ${rows.length - 20} more`);
  };

  // 1. on_hand equals the ledger, never negative.
  check(await db`
    WITH ledger AS (${ledgerStock(db)})
    SELECT coalesce(s.item_id, l.item_id) AS item_id, coalesce(s.warehouse_id, l.warehouse_id) AS warehouse_id,
           s.on_hand AS stored, l.on_hand AS ledger
    FROM stock_levels s FULL JOIN ledger l ON l.item_id = s.item_id AND l.warehouse_id = s.warehouse_id
    WHERE coalesce(s.on_hand, 0) <> coalesce(l.on_hand, 0) OR s.on_hand < 0`, 'on_hand differs from the ledger (invariant 1)');

  // 2. reserved equals ACTIVE reservations (an expired one may still be stored as ACTIVE until the
  //    level is next locked, but must never make reserved exceed on_hand), never above on_hand.
  check(await db`
    SELECT s.item_id, s.warehouse_id, s.on_hand, s.reserved, coalesce(r.active, 0) AS active
    FROM stock_levels s
    LEFT JOIN (SELECT item_id, warehouse_id, sum(qty) AS active FROM reservations WHERE status = 'ACTIVE' GROUP BY 1, 2) r
      ON r.item_id = s.item_id AND r.warehouse_id = s.warehouse_id
    WHERE s.reserved <> coalesce(r.active, 0) OR s.reserved > s.on_hand`, 'reserved differs from active reservations (invariant 2)');

  // 3. PO lines: received equals posted receipt lines, never above ordered.
  if (await tableExists(db, 'purchase_order_lines')) {
    check(await db`
      SELECT pl.id, pl.qty, pl.qty_received, coalesce(r.received, 0) AS posted
      FROM purchase_order_lines pl
      LEFT JOIN (SELECT rl.po_line_id, sum(rl.qty_received) AS received FROM receipt_lines rl
                 JOIN receipts rc ON rc.id = rl.receipt_id WHERE rc.status = 'POSTED' GROUP BY 1) r ON r.po_line_id = pl.id
      WHERE pl.qty_received <> coalesce(r.received, 0) OR pl.qty_received > pl.qty`, 'qty_received differs from posted receipts (invariant 3)');
  }

  // 4. SERIAL items: on_hand equals IN_STOCK serials there.
  check(await db`
    SELECT s.item_id, s.warehouse_id, s.on_hand, count(sr.serial) AS in_stock
    FROM stock_levels s JOIN items i ON i.id = s.item_id AND i.track_by = 'SERIAL'
    LEFT JOIN serials sr ON sr.item_id = s.item_id AND sr.warehouse_id = s.warehouse_id AND sr.status = 'IN_STOCK'
    GROUP BY s.item_id, s.warehouse_id, s.on_hand
    HAVING s.on_hand <> count(sr.serial)`, 'serial count differs from on_hand (invariant 4)');

  // 6. Every posted move has exactly one outbox event and one audit entry.
  check(await db`
    WITH events AS (SELECT payload #>> '{data,id}' AS id, count(*) AS n FROM outbox WHERE type = 'inventory.stock_move.posted' GROUP BY 1),
         audits AS (SELECT entity_id AS id, count(*) AS n FROM audit_log WHERE entity = 'stock_move' AND action = 'stock_move.posted' GROUP BY 1)
    SELECT m.id, coalesce(e.n, 0) AS events, coalesce(a.n, 0) AS audits
    FROM stock_moves m LEFT JOIN events e ON e.id = m.id LEFT JOIN audits a ON a.id = m.id
    WHERE coalesce(e.n, 0) <> 1 OR coalesce(a.n, 0) <> 1`, 'a posted move without exactly one event and one audit entry (invariant 6)');

  return { checks, violations };
}
