// Reservations. Their rows change only while the (item, warehouse) level they belong to is locked
// (db/stock.ts lockLevels), which is also where due ones are marked EXPIRED. Reads never wait for
// that: an ACTIVE reservation past its expiry is shown, filtered and counted as EXPIRED.
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

/** What level `s` has reserved right now: its ACTIVE, unexpired reservations (the stored column may still count expired ones). */
export const reservedNow = (db: Db) => db`
  coalesce((SELECT sum(qty) FROM reservations r
            WHERE r.item_id = s.item_id AND r.warehouse_id = s.warehouse_id AND status = 'ACTIVE' AND ${unexpired(db)}), 0)`;

const columns = (db: Db) =>
  db`id, item_id, warehouse_id, qty, ${effectiveStatus(db)} AS status, expires_at, reference, consumed_by, created_at, updated_at`;

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

export async function insertReservation(
  db: Db,
  r: {
    id: string;
    item_id: string;
    warehouse_id: string;
    qty: string;
    expires_at: string | null;
    reference: string | null;
    created_by: string;
  },
): Promise<ReservationRow> {
  const [row] = await db<ReservationRow[]>`
    INSERT INTO reservations (id, item_id, warehouse_id, qty, status, expires_at, reference, created_by)
    VALUES (${r.id}, ${r.item_id}, ${r.warehouse_id}, ${r.qty}, 'ACTIVE', ${r.expires_at}, ${r.reference}, ${r.created_by})
    RETURNING ${columns(db)}`;
  return row;
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
