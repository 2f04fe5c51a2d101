// Stock levels, batch levels and serials: the state the ledger keeps in step with posted moves.
// Writers lock the (item, warehouse) levels they touch first (lockLevels); batch levels, serials and
// reservations of a level only change under that lock, so reading them afterwards is consistent.
import { allInOrder, type Db } from './client.ts';
import type { ScopedPage } from './listing.ts';
import { reservedNow } from './reservations.ts';

export interface StockKey {
  item_id: string;
  warehouse_id: string;
}

export interface LevelRow extends StockKey {
  on_hand: number;
  reserved: number;
}

export interface BatchRow extends StockKey {
  batch: string;
  on_hand: number;
  expires_at: string | null;
}

export const keyOf = (item_id: string, warehouse_id: string): string =>
  JSON.stringify([item_id, warehouse_id]);

const columnsOf = (keys: StockKey[]) => [
  keys.map((k) => k.item_id),
  keys.map((k) => k.warehouse_id),
];

/**
 * Locks the existing level rows of keys, always in (item_id, warehouse_id) order so that two
 * postings touching the same rows queue instead of deadlocking, then expires their due
 * reservations (so `reserved` no longer counts them; no cron is needed for correctness).
 * Keys without a row are absent from the result: nothing is on hand there.
 */
export async function lockLevels(db: Db, keys: StockKey[]): Promise<Map<string, LevelRow>> {
  const [items, warehouses] = columnsOf(keys);
  // Both statements in one round trip (pipelined; PostgreSQL runs them in this order).
  const [rows, expired] = await allInOrder([
    db<LevelRow[]>`
    SELECT item_id, warehouse_id, on_hand, reserved FROM stock_levels
    WHERE (item_id, warehouse_id) IN (SELECT * FROM unnest(${items}::text[], ${warehouses}::text[]))
    ORDER BY item_id, warehouse_id
    FOR UPDATE`,
    db<LevelRow[]>`
    WITH expired AS (
      UPDATE reservations SET status = 'EXPIRED', updated_at = now()
      WHERE status = 'ACTIVE' AND expires_at <= now()
        AND (item_id, warehouse_id) IN (SELECT * FROM unnest(${items}::text[], ${warehouses}::text[]))
      RETURNING item_id, warehouse_id, qty
    ), totals AS (SELECT item_id, warehouse_id, sum(qty) AS qty FROM expired GROUP BY item_id, warehouse_id)
    UPDATE stock_levels s SET reserved = s.reserved - t.qty, updated_at = now()
    FROM totals t WHERE s.item_id = t.item_id AND s.warehouse_id = t.warehouse_id
    RETURNING s.item_id, s.warehouse_id, s.on_hand, s.reserved`,
  ]);
  const levels = new Map(rows.map((r) => [keyOf(r.item_id, r.warehouse_id), { ...r }]));
  for (const r of expired) levels.set(keyOf(r.item_id, r.warehouse_id), { ...r });
  return levels;
}

export interface LevelChange extends StockKey {
  /** Exact decimal strings. */
  on_hand: string;
  reserved: string;
}

/** Adds the deltas to locked levels. The table's CHECKs refuse negative stock or over-reservation. */
export async function changeLevels(db: Db, changes: LevelChange[]): Promise<void> {
  if (!changes.length) return;
  const [items, warehouses] = columnsOf(changes);
  await db`
    UPDATE stock_levels s SET on_hand = s.on_hand + d.on_hand, reserved = s.reserved + d.reserved, updated_at = now()
    FROM unnest(${items}::text[], ${warehouses}::text[], ${changes.map((c) => c.on_hand)}::numeric[], ${changes.map((c) => c.reserved)}::numeric[])
      AS d(item_id, warehouse_id, on_hand, reserved)
    WHERE s.item_id = d.item_id AND s.warehouse_id = d.warehouse_id`;
}

export async function batchesOf(db: Db, keys: StockKey[]): Promise<BatchRow[]> {
  if (!keys.length) return [];
  const [items, warehouses] = columnsOf(keys);
  return db<BatchRow[]>`
    SELECT item_id, warehouse_id, batch, on_hand, expires_at FROM batch_levels
    WHERE (item_id, warehouse_id) IN (SELECT * FROM unnest(${items}::text[], ${warehouses}::text[]))
    ORDER BY item_id, warehouse_id, expires_at NULLS LAST, batch`;
}

export interface LevelView extends LevelRow {
  available: number;
  track_by: 'BATCH' | 'SERIAL' | 'NONE';
  updated_at: string;
}

export interface LevelFilters extends ScopedPage {
  item_id?: string;
  warehouse_id?: string;
}

/** Levels as of now: `reserved` counts ACTIVE, unexpired reservations only. */
export async function listLevels(db: Db, f: LevelFilters): Promise<LevelView[]> {
  return db<LevelView[]>`
    SELECT item_id, warehouse_id, on_hand, reserved, on_hand - reserved AS available, track_by, updated_at
    FROM (SELECT s.item_id, s.warehouse_id, s.on_hand, ${reservedNow(db)} AS reserved, i.track_by, s.updated_at
          FROM stock_levels s JOIN items i ON i.id = s.item_id
          WHERE true
            ${f.item_id === undefined ? db`` : db`AND s.item_id = ${f.item_id}`}
            ${f.warehouse_id === undefined ? db`` : db`AND s.warehouse_id = ${f.warehouse_id}`}
            ${f.allowed === null ? db`` : db`AND s.warehouse_id = ANY(${f.allowed}::text[])`}
            ${f.after === null ? db`` : db`AND (s.item_id, s.warehouse_id) > (${f.after[0]}, ${f.after[1]})`}
          ORDER BY s.item_id, s.warehouse_id
          LIMIT ${f.limit + 1}) levels
    ORDER BY item_id, warehouse_id`;
}

export interface SerialRow {
  item_id: string;
  serial: string;
  warehouse_id: string | null;
  status: 'IN_STOCK' | 'ISSUED';
  updated_at: string;
}

export interface SerialFilters extends ScopedPage {
  item_id?: string;
  warehouse_id?: string;
  status?: SerialRow['status'];
}

export async function listSerials(db: Db, f: SerialFilters): Promise<SerialRow[]> {
  return db<SerialRow[]>`
    SELECT item_id, serial, warehouse_id, status, updated_at FROM serials
    WHERE true
      ${f.item_id === undefined ? db`` : db`AND item_id = ${f.item_id}`}
      ${f.warehouse_id === undefined ? db`` : db`AND warehouse_id = ${f.warehouse_id}`}
      ${f.status === undefined ? db`` : db`AND status = ${f.status}`}
      ${f.allowed === null ? db`` : db`AND warehouse_id = ANY(${f.allowed}::text[])`}
      ${f.after === null ? db`` : db`AND (item_id, serial) > (${f.after[0]}, ${f.after[1]})`}
    ORDER BY item_id, serial
    LIMIT ${f.limit + 1}`;
}
