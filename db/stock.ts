// Stock levels, batch levels and serials: the state the ledger keeps in step with posted moves.
// Writers lock the (item, warehouse) levels they touch first (lockLevels); batch levels, serials and
// reservations of a level only change under that lock, so reading them afterwards is consistent.
import type { PendingQuery } from 'postgres';
import { allInOrder, type Db } from './client.ts';
import type { ScopedPage } from './listing.ts';
import { expireDue, reservedNow, type ExpiredReservation } from './reservations.ts';

export interface StockKey {
  item_id: string;
  warehouse_id: string;
}

export interface LevelRow extends StockKey {
  on_hand: number;
  reserved: number;
  /** Open on SENT purchase orders shipping here (kept by the database, db/migrations/0022_incoming.sql). */
  incoming: number;
  /** The part of `incoming` without an expected date. */
  undated_incoming: number;
  /** Held stock (db/migrations/0023_stock_states.sql): on hand, not available. Unrestricted is the rest of on_hand. */
  quality_control: number;
  damaged: number;
}

export interface BatchRow extends StockKey {
  batch: string;
  on_hand: number;
  /** Of on_hand, held; a batch keeps its state. */
  quality_control: number;
  damaged: number;
  expires_at: string | null;
}

export const keyOf = (item_id: string, warehouse_id: string): string =>
  JSON.stringify([item_id, warehouse_id]);

/** Orders keys (keyOf) by code point, the order every writer locks levels in. */
export const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const columnsOf = (keys: StockKey[]) => [
  keys.map((k) => k.item_id),
  keys.map((k) => k.warehouse_id),
];

/**
 * Locks the existing level rows of keys, always in (item_id, warehouse_id) order so that two
 * postings touching the same rows queue instead of deadlocking, then expires their due
 * reservations (so `reserved` no longer counts them; the sweeper does the same for levels nobody
 * writes, server/reservations/). Keys without a row are absent from `levels`: nothing is on hand
 * there. `expired` are the reservations expired on the way, whose events the caller owes.
 */
export async function lockLevels(
  db: Db,
  keys: StockKey[],
): Promise<{ levels: Map<string, LevelRow>; expired: ExpiredReservation[] }> {
  const [items, warehouses] = columnsOf(keys);
  // Both statements in one round trip, pipelined, the locks first: postgres.js sends a statement a
  // microtask after it is first awaited or executed, and expireDue awaits its own at once, so
  // without execute() here its update would reach PostgreSQL first and lock the levels it changes
  // out of (item, warehouse) order.
  const locked = db<LevelRow[]>`
    SELECT item_id, warehouse_id, on_hand, reserved, incoming, undated_incoming, quality_control, damaged FROM stock_levels
    WHERE (item_id, warehouse_id) IN (SELECT * FROM unnest(${items}::text[], ${warehouses}::text[]))
    ORDER BY item_id, warehouse_id
    FOR UPDATE`.execute();
  const [rows, expired] = await allInOrder([locked, expireDue(db, keys)]);
  const levels = new Map(rows.map((r) => [keyOf(r.item_id, r.warehouse_id), { ...r }]));
  for (const r of expired)
    levels.set(keyOf(r.item_id, r.warehouse_id), {
      item_id: r.item_id,
      warehouse_id: r.warehouse_id,
      on_hand: r.level.on_hand,
      reserved: r.level.reserved,
      incoming: r.level.incoming,
      undated_incoming: r.level.undated_incoming,
      quality_control: r.level.quality_control,
      damaged: r.level.damaged,
    });
  return { levels, expired };
}

/** A level's figures as a write left them. */
export interface LevelAfter extends LevelRow {
  updated_at: string;
}

/**
 * Adds exact decimal deltas to the `reserved` of locked levels, stamping each with `updated_at` (that
 * of the last change made to it, so that its events show it as the table has it; null: the
 * transaction's now()). The table's
 * CHECKs refuse over-reservation. Sent when called, to be pipelined.
 */
export function changeReserved(
  db: Db,
  changes: (StockKey & { reserved: string; updated_at: string | null })[],
): Promise<LevelAfter[]> {
  const [items, warehouses] = columnsOf(changes);
  return db<LevelAfter[]>`
    UPDATE stock_levels s SET reserved = s.reserved + d.reserved, updated_at = coalesce(d.updated_at, now())
    FROM unnest(${items}::text[], ${warehouses}::text[], ${changes.map((c) => c.reserved)}::numeric[],
      ${changes.map((c) => c.updated_at)}::timestamptz[]) AS d(item_id, warehouse_id, reserved, updated_at)
    WHERE s.item_id = d.item_id AND s.warehouse_id = d.warehouse_id
    RETURNING s.item_id, s.warehouse_id, s.on_hand, s.reserved, s.incoming, s.undated_incoming, s.quality_control, s.damaged, s.updated_at`.execute();
}

export async function batchesOf(db: Db, keys: StockKey[]): Promise<BatchRow[]> {
  if (!keys.length) return [];
  const [items, warehouses] = columnsOf(keys);
  return db<BatchRow[]>`
    SELECT item_id, warehouse_id, batch, on_hand, quality_control, damaged, expires_at FROM batch_levels
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

/**
 * Levels as of now (what GET /inventory/stock-levels lists): the stored figures, less the due
 * reservations not yet expired (reservedNow).
 */
const levelViews = (db: Db, where: PendingQuery<any>, limit: number | null) => db<LevelView[]>`
    SELECT item_id, warehouse_id, on_hand, reserved, on_hand - reserved - quality_control - damaged AS available, incoming, undated_incoming,
      quality_control, damaged, track_by, updated_at
    FROM (SELECT s.item_id, s.warehouse_id, s.on_hand, ${reservedNow(db)} AS reserved, s.incoming, s.undated_incoming, s.quality_control, s.damaged,
            i.track_by, s.updated_at
          FROM stock_levels s JOIN items i ON i.id = s.item_id
          WHERE true ${where}
          ORDER BY s.item_id, s.warehouse_id
          ${limit === null ? db`` : db`LIMIT ${limit}`}) levels
    ORDER BY item_id, warehouse_id`;

export async function listLevels(db: Db, f: LevelFilters): Promise<LevelView[]> {
  return levelViews(
    db,
    db`${f.item_id === undefined ? db`` : db`AND s.item_id = ${f.item_id}`}
       ${f.warehouse_id === undefined ? db`` : db`AND s.warehouse_id = ${f.warehouse_id}`}
       ${f.allowed === null ? db`` : db`AND s.warehouse_id = ANY(${f.allowed}::text[])`}
       ${f.after === null ? db`` : db`AND (s.item_id, s.warehouse_id) > (${f.after[0]}, ${f.after[1]})`}`,
    f.limit + 1,
  );
}

/** The levels of these keys as the list shows them (keys without a row are absent). */
export async function findLevels(db: Db, keys: StockKey[]): Promise<LevelView[]> {
  if (!keys.length) return [];
  const [items, warehouses] = columnsOf(keys);
  return levelViews(
    db,
    db`AND (s.item_id, s.warehouse_id) IN (SELECT * FROM unnest(${items}::text[], ${warehouses}::text[]))`,
    null,
  );
}

export interface SerialRow {
  item_id: string;
  serial: string;
  warehouse_id: string | null;
  /** The location (code) of an IN_STOCK serial in its warehouse; null when ISSUED. */
  location: string | null;
  status: 'IN_STOCK' | 'ISSUED';
  /** One state per serial; an ISSUED serial keeps the one it left in. */
  state: StockState;
  updated_at: string;
}

export type StockState = 'unrestricted' | 'quality_control' | 'damaged';

export interface SerialFilters extends ScopedPage {
  item_id?: string;
  warehouse_id?: string;
  status?: SerialRow['status'];
}

export async function listSerials(db: Db, f: SerialFilters): Promise<SerialRow[]> {
  return db<SerialRow[]>`
    SELECT item_id, serial, warehouse_id, location, status, state, updated_at FROM serials
    WHERE true
      ${f.item_id === undefined ? db`` : db`AND item_id = ${f.item_id}`}
      ${f.warehouse_id === undefined ? db`` : db`AND warehouse_id = ${f.warehouse_id}`}
      ${f.status === undefined ? db`` : db`AND status = ${f.status}`}
      ${f.allowed === null ? db`` : db`AND warehouse_id = ANY(${f.allowed}::text[])`}
      ${f.after === null ? db`` : db`AND (item_id, serial) > (${f.after[0]}, ${f.after[1]})`}
    ORDER BY item_id, serial
    LIMIT ${f.limit + 1}`;
}

/** One item (and batch: '' for none) at one location: its stock on hand and what of it is held. */
export interface LocationLevelRow extends StockKey {
  location: string;
  batch: string;
  on_hand: number;
  quality_control: number;
  damaged: number;
  /** The location's: picking takes lower first. */
  pick_order: number;
}

/**
 * The location levels with stock of these (item, warehouse) keys. Unlocked: they change only under
 * the lock of their stock level, which the caller holds (lockLevels, sent before this).
 */
export async function locationLevelsOf(db: Db, keys: StockKey[]): Promise<LocationLevelRow[]> {
  if (!keys.length) return [];
  const [items, warehouses] = columnsOf(keys);
  return db<LocationLevelRow[]>`
    SELECT ll.item_id, ll.warehouse_id, ll.location, ll.batch, ll.on_hand, ll.quality_control, ll.damaged, l.pick_order
    FROM location_levels ll JOIN locations l ON l.warehouse_id = ll.warehouse_id AND l.code = ll.location
    WHERE (ll.item_id, ll.warehouse_id) IN (SELECT * FROM unnest(${items}::text[], ${warehouses}::text[])) AND ll.on_hand > 0`;
}

/** A location as postings see it. */
export interface LocationRef {
  warehouse_id: string;
  code: string;
  active: boolean;
  pick_order: number;
  /** Set on the rows answering a putaway rule: the item whose stock the rule sends here. */
  putaway_for: string | null;
}

/**
 * The locations postings may put stock in or name: those named (warehouse, code), and the targets
 * of the putaway rules of these (item, warehouse) keys, one row per rule.
 */
export async function locationsFor(
  db: Db,
  named: { warehouse_id: string; code: string }[],
  keys: StockKey[],
): Promise<LocationRef[]> {
  const [items, warehouses] = columnsOf(keys);
  return db<LocationRef[]>`
    SELECT warehouse_id, code, active, pick_order, NULL::text AS putaway_for FROM locations
    WHERE (warehouse_id, code) IN (SELECT * FROM unnest(${named.map((n) => n.warehouse_id)}::text[], ${named.map((n) => n.code)}::text[]))
    UNION ALL
    SELECT l.warehouse_id, l.code, l.active, l.pick_order, p.item_id FROM putaway_rules p
    JOIN locations l ON l.warehouse_id = p.warehouse_id AND l.code = p.location
    WHERE (p.item_id, p.warehouse_id) IN (SELECT * FROM unnest(${items}::text[], ${warehouses}::text[]))`;
}
