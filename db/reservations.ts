// Reservations. Their rows change only while the (item, warehouse) level they belong to is locked
// (db/stock.ts lockLevels), which is also where due ones are marked EXPIRED, as the sweeper does
// for levels nobody writes (lockDueLevels). Reads never wait for either: an ACTIVE reservation
// past its expiry is shown, filtered and counted as EXPIRED.
import type { Db } from './client.ts';
import { keysetOrder, keysetWhere, type Keyset } from './keyset.ts';
import type { ScopedPage } from './listing.ts';

export type ReservationStatus = 'ACTIVE' | 'CONSUMED' | 'RELEASED' | 'EXPIRED';

export interface ReservationRow {
  id: string;
  item_id: string;
  warehouse_id: string;
  qty: number;
  status: ReservationStatus;
  expires_at: string | null;
  reference: string | null;
  consumed_by: string | null;
  created_at: string;
  updated_at: string;
}

const unexpired = (db: Db) => db`(expires_at IS NULL OR expires_at > now())`;

/** The status as of now: ACTIVE rows past their expiry are EXPIRED even before a writer marks them. */
const effectiveStatus = (db: Db) =>
  db`CASE WHEN status = 'ACTIVE' AND NOT ${unexpired(db)} THEN 'EXPIRED' ELSE status END`;

/**
 * What level `s` has reserved right now: its stored `reserved` less the ACTIVE reservations already
 * due that no writer or sweeper has expired yet (they stay in the stored figure until then). Found
 * through reservations_due_by_level, so the cost is that of the due ones only, whatever the number
 * of ACTIVE reservations the level holds.
 */
export const reservedNow = (db: Db) => db`
  s.reserved - coalesce((SELECT sum(qty) FROM reservations r
    WHERE r.item_id = s.item_id AND r.warehouse_id = s.warehouse_id AND r.status = 'ACTIVE' AND r.expires_at <= now()), 0)`;

const columns = (db: Db) =>
  db`id, item_id, warehouse_id, qty, ${effectiveStatus(db)} AS status, expires_at, reference, consumed_by, created_at, updated_at`;

/** A reservation just marked EXPIRED, with its level once every expiry of the statement is applied. */
export interface ExpiredReservation extends ReservationRow {
  level: {
    on_hand: number;
    reserved: number;
    incoming: number;
    undated_incoming: number;
    quality_control: number;
    damaged: number;
    updated_at: string;
  };
}

/**
 * Marks the due ACTIVE reservations of these levels EXPIRED and gives their quantity back
 * (`reserved`); the caller holds the levels' locks. One statement, so one round trip. PostgreSQL
 * finds the due ones per level (reservations_due_by_level), or among all due ones
 * (reservations_due) when it expects few, rather than reading every ACTIVE one of a level.
 */
export async function expireDue(
  db: Db,
  keys: { item_id: string; warehouse_id: string }[],
): Promise<ExpiredReservation[]> {
  if (!keys.length) return [];
  const items = keys.map((k) => k.item_id);
  const warehouses = keys.map((k) => k.warehouse_id);
  const rows = await db<
    (ReservationRow & {
      l_on_hand: number;
      l_reserved: number;
      l_incoming: number;
      l_undated_incoming: number;
      l_quality_control: number;
      l_damaged: number;
      l_updated_at: string;
    })[]
  >`
    WITH expired AS (
      UPDATE reservations SET status = 'EXPIRED', updated_at = now()
      WHERE status = 'ACTIVE' AND expires_at <= now()
        AND (item_id, warehouse_id) IN (SELECT * FROM unnest(${items}::text[], ${warehouses}::text[]))
      RETURNING ${columns(db)}
    ), totals AS (SELECT item_id, warehouse_id, sum(qty) AS qty FROM expired GROUP BY item_id, warehouse_id),
    levels AS (
      UPDATE stock_levels s SET reserved = s.reserved - t.qty, updated_at = now()
      FROM totals t WHERE s.item_id = t.item_id AND s.warehouse_id = t.warehouse_id
      RETURNING s.item_id, s.warehouse_id, s.on_hand, s.reserved, s.incoming, s.undated_incoming, s.quality_control, s.damaged, s.updated_at)
    SELECT e.*, l.on_hand AS l_on_hand, l.reserved AS l_reserved, l.incoming AS l_incoming,
      l.undated_incoming AS l_undated_incoming, l.quality_control AS l_quality_control, l.damaged AS l_damaged,
      l.updated_at AS l_updated_at
    FROM expired e JOIN levels l USING (item_id, warehouse_id)
    ORDER BY e.item_id, e.warehouse_id, e.id`;
  return rows.map(
    ({
      l_on_hand,
      l_reserved,
      l_incoming,
      l_undated_incoming,
      l_quality_control,
      l_damaged,
      l_updated_at,
      ...row
    }) => ({
      ...row,
      level: {
        on_hand: l_on_hand,
        reserved: l_reserved,
        incoming: l_incoming,
        undated_incoming: l_undated_incoming,
        quality_control: l_quality_control,
        damaged: l_damaged,
        updated_at: l_updated_at,
      },
    }),
  );
}

/**
 * For the sweeper: locks up to `limit` levels that have due reservations, skipping levels another
 * transaction holds (a posting, or another instance's sweeper, which will expire them itself).
 * Levels are locked before reservations, as every writer does.
 */
export async function lockDueLevels(
  db: Db,
  limit: number,
): Promise<{ item_id: string; warehouse_id: string }[]> {
  return db<{ item_id: string; warehouse_id: string }[]>`
    SELECT s.item_id, s.warehouse_id FROM stock_levels s
    WHERE (s.item_id, s.warehouse_id) IN (
      SELECT DISTINCT item_id, warehouse_id FROM reservations WHERE status = 'ACTIVE' AND expires_at <= now())
    ORDER BY s.item_id, s.warehouse_id
    LIMIT ${limit}
    FOR UPDATE SKIP LOCKED`;
}

/** `lock`: the caller holds the lock of the reservation's level (see lockLevels). */
export async function findReservations(
  db: Db,
  ids: string[],
  { lock = false } = {},
): Promise<ReservationRow[]> {
  return db<
    ReservationRow[]
  >`SELECT ${columns(db)} FROM reservations WHERE id = ANY(${ids}::text[]) ORDER BY id ${lock ? db`FOR UPDATE` : db``}`;
}

/** Reservations made ACTIVE, any number in one statement; sent when called, to be pipelined. */
export function insertReservations(
  db: Db,
  rows: (Omit<ReservationRow, 'status' | 'consumed_by'> & { created_by: string })[],
): Promise<unknown> {
  return db`
    INSERT INTO reservations (id, item_id, warehouse_id, qty, status, expires_at, reference, created_by, created_at, updated_at)
    SELECT id, item_id, warehouse_id, qty, 'ACTIVE', expires_at, reference, created_by, created_at, updated_at
    FROM jsonb_to_recordset(${db.json(rows as never)}) AS r(id text, item_id text, warehouse_id text, qty numeric,
      expires_at timestamptz, reference text, created_by text, created_at timestamptz, updated_at timestamptz)`.execute();
}

/** ACTIVE → CONSUMED (by a stock move) or RELEASED; the caller adjusts the level's `reserved`. */
export async function closeReservations(
  db: Db,
  ids: string[],
  status: 'CONSUMED' | 'RELEASED',
  consumedBy: string | null = null,
): Promise<ReservationRow[]> {
  return db<ReservationRow[]>`
    UPDATE reservations SET status = ${status}, consumed_by = ${consumedBy}, updated_at = now()
    WHERE id = ANY(${ids}::text[]) AND status = 'ACTIVE'
    RETURNING ${columns(db)}`;
}

export interface ReservationFilters extends ScopedPage<unknown[]> {
  keyset: Keyset;
  item_id?: string;
  warehouse_id?: string;
  status?: ReservationStatus;
}

export async function listReservations(db: Db, f: ReservationFilters): Promise<ReservationRow[]> {
  return db<ReservationRow[]>`
    SELECT ${columns(db)} FROM reservations
    WHERE true
      ${f.item_id === undefined ? db`` : db`AND item_id = ${f.item_id}`}
      ${f.warehouse_id === undefined ? db`` : db`AND warehouse_id = ${f.warehouse_id}`}
      ${f.status === undefined ? db`` : db`AND ${effectiveStatus(db)} = ${f.status}`}
      ${f.allowed === null ? db`` : db`AND warehouse_id = ANY(${f.allowed}::text[])`}
      ${keysetWhere(db, f.keyset, f.after)}
    ${keysetOrder(db, f.keyset)}
    LIMIT ${f.limit + 1}`;
}
