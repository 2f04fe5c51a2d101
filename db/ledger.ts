// The ledger's bulk reads and writes. Postings are planned in memory against rows read (and
// locked) here, then written here in one round trip for any number of postings: the statements
// are sent together (postgres.js pipelines them on the transaction's connection; PostgreSQL runs
// them in order). Where a write relies on a row that was not locked (a stock level, batch level or
// serial that did not exist yet, a reservation or move state), the statement checks its own row
// count with ledger_assert (0005_ledger_assert.sql), failing the transaction as a serialization
// failure to be retried; as the checks are in SQL, a caller may send COMMIT right behind the writes.
import type { PendingQuery } from 'postgres';
import { allInOrder, type Db } from './client.ts';
import { insertAudits, type Actor, type AuditEntry } from './audit.ts';
import { insertEvents, type OutboxEvent } from './outbox.ts';
import type { LineRow, MoveRow } from './stock-moves.ts';
import type { SerialRow as StoredSerial, StockKey } from './stock.ts';

/** A serial as the ledger plans with it. */
export type SerialRow = Omit<StoredSerial, 'updated_at'>;

/** Serial rows of these (item, serial) pairs, locked in (item, serial) order; pairs without a row are absent. */
export async function lockSerials(
  db: Db,
  pairs: { item_id: string; serial: string }[],
): Promise<SerialRow[]> {
  if (!pairs.length) return [];
  return db<SerialRow[]>`
    SELECT item_id, serial, warehouse_id, location, status, state FROM serials
    WHERE (item_id, serial) IN (SELECT * FROM unnest(${pairs.map((p) => p.item_id)}::text[], ${pairs.map((p) => p.serial)}::text[]))
    ORDER BY item_id, serial
    FOR UPDATE`;
}

export interface LevelWrite extends StockKey {
  /** Exact decimal deltas. */
  on_hand: string;
  reserved: string;
  quality_control: string;
  damaged: string;
  /** The row existed (and was locked) when the postings were planned. */
  exists: boolean;
  /** That of the last posting changing it, so its events show the level as the table has it. */
  updated_at: string;
}

export interface BatchWrite extends StockKey {
  batch: string;
  on_hand: string;
  quality_control: string;
  damaged: string;
  expires_at: string | null;
  exists: boolean;
}

export interface SerialWrite extends SerialRow {
  exists: boolean;
}

/** The change of one location level (batch '' for none): exact decimal deltas. */
export interface LocationLevelWrite extends StockKey {
  location: string;
  batch: string;
  on_hand: string;
  quality_control: string;
  damaged: string;
  updated_at: string;
}

export interface LedgerWrites {
  moves: MoveRow[];
  lines: LineRow[];
  levels: LevelWrite[];
  batches: BatchWrite[];
  /** Absent: the writes change no location (as before locations existed). */
  locations?: LocationLevelWrite[];
  serials: SerialWrite[];
  /** Reservations consumed by a move. */
  consumed: { id: string; consumed_by: string; updated_at: string }[];
  /** Moves marked REVERSED by their reversal. */
  reversed: { id: string; reversed_by: string }[];
  /** Empty when the caller sends them itself, after writes of its own (Ledger.write). */
  events: OutboxEvent[];
  audits: { actor: Actor; entry: AuditEntry }[];
}

const json = (db: Db, rows: unknown[]) => db.json(rows as never);

/** Sends every write at once (before returning); the promise settles when they all have. */
export function writeLedger(db: Db, w: LedgerWrites): Promise<void> {
  const newLevels = w.levels.filter((l) => !l.exists);
  const oldLevels = w.levels.filter((l) => l.exists);
  const newBatches = w.batches.filter((b) => !b.exists);
  const oldBatches = w.batches.filter((b) => b.exists);
  const newSerials = w.serials.filter((s) => !s.exists);
  const oldSerials = w.serials.filter((s) => s.exists);
  const statements: Promise<unknown>[] = [];
  // Each statement is sent the moment it is built, so they reach PostgreSQL in this order (the
  // lines need their move, batch levels their level, a reversal link its reversing move).
  const send = (query: PendingQuery<any> | false) => {
    if (query) statements.push(query.execute());
  };
  send(
    w.moves.length > 0 &&
      db`
    INSERT INTO stock_moves (id, type, from_wh, to_wh, reason, reference, idempotency_key, reverses, receipt_id, created_by, created_at)
    SELECT id, type, from_wh, to_wh, reason, reference, idempotency_key, reverses, receipt_id, created_by, created_at
    FROM jsonb_to_recordset(${json(db, w.moves)}) AS m(id text, type text, from_wh text, to_wh text, reason text, reference text,
      idempotency_key text, reverses text, receipt_id text, created_by text, created_at timestamptz)`,
  );
  send(
    w.lines.length > 0 &&
      db`
    INSERT INTO stock_move_lines (move_id, line_no, item_id, qty, batch, expires_at, serials, reservation_id, expected_on_hand, from_state, to_state,
      from_location, to_location)
    SELECT move_id, line_no, item_id, qty, batch, expires_at, ARRAY(SELECT jsonb_array_elements_text(serials)), reservation_id, expected_on_hand,
      from_state, to_state, from_location, to_location
    FROM jsonb_to_recordset(${json(db, w.lines)}) AS l(move_id text, line_no int, item_id text, qty numeric, batch text,
      expires_at timestamptz, serials jsonb, reservation_id text, expected_on_hand numeric, from_state text, to_state text,
      from_location text, to_location text)`,
  );
  // Locked rows are updated. Rows that did not exist when planned are inserted, and if another
  // transaction created one meanwhile the batch is retried (against the row, locked then): adding
  // to a row it never saw would pass a count (expected_on_hand) that was planned against nothing.
  send(
    oldLevels.length > 0 &&
      db`
    UPDATE stock_levels s SET on_hand = s.on_hand + d.on_hand, reserved = s.reserved + d.reserved,
      quality_control = s.quality_control + d.quality_control, damaged = s.damaged + d.damaged, updated_at = d.updated_at
    FROM jsonb_to_recordset(${json(db, oldLevels)}) AS d(item_id text, warehouse_id text, on_hand numeric, reserved numeric,
      quality_control numeric, damaged numeric, updated_at timestamptz)
    WHERE s.item_id = d.item_id AND s.warehouse_id = d.warehouse_id`,
  );
  send(
    newLevels.length > 0 &&
      db`
    WITH added AS (
      INSERT INTO stock_levels (item_id, warehouse_id, on_hand, quality_control, damaged, updated_at)
      SELECT item_id, warehouse_id, on_hand, quality_control, damaged, updated_at
      FROM jsonb_to_recordset(${json(db, newLevels)}) AS d(item_id text, warehouse_id text, on_hand numeric, quality_control numeric, damaged numeric,
        updated_at timestamptz)
      ORDER BY item_id, warehouse_id
      ON CONFLICT (item_id, warehouse_id) DO NOTHING
      RETURNING 1)
    SELECT ledger_assert((SELECT count(*) FROM added) = ${newLevels.length}, 'a new stock level appeared')`,
  );
  // A batch keeps the expiry it was first given.
  send(
    oldBatches.length > 0 &&
      db`
    UPDATE batch_levels b SET on_hand = b.on_hand + d.on_hand, quality_control = b.quality_control + d.quality_control,
      damaged = b.damaged + d.damaged, expires_at = coalesce(b.expires_at, d.expires_at)
    FROM jsonb_to_recordset(${json(db, oldBatches)}) AS d(item_id text, warehouse_id text, batch text, on_hand numeric,
      quality_control numeric, damaged numeric, expires_at timestamptz)
    WHERE b.item_id = d.item_id AND b.warehouse_id = d.warehouse_id AND b.batch = d.batch`,
  );
  send(
    newBatches.length > 0 &&
      db`
    WITH added AS (
      INSERT INTO batch_levels (item_id, warehouse_id, batch, on_hand, quality_control, damaged, expires_at)
      SELECT item_id, warehouse_id, batch, on_hand, quality_control, damaged, expires_at
      FROM jsonb_to_recordset(${json(db, newBatches)}) AS d(item_id text, warehouse_id text, batch text, on_hand numeric,
        quality_control numeric, damaged numeric, expires_at timestamptz)
      ORDER BY item_id, warehouse_id, batch
      ON CONFLICT (item_id, warehouse_id, batch) DO NOTHING
      RETURNING 1)
    SELECT ledger_assert((SELECT count(*) FROM added) = ${newBatches.length}, 'a new batch level appeared')`,
  );
  // Last of the stock: the database checks that the locations of every key written sum to its
  // level and batch levels, as the statements above left them (0024_locations.sql).
  send(
    w.locations !== undefined && w.locations.length > 0 && upsertLocationLevels(db, w.locations),
  );
  send(
    oldSerials.length > 0 &&
      db`
    UPDATE serials s SET warehouse_id = d.warehouse_id, location = d.location, status = d.status, state = d.state, updated_at = now()
    FROM jsonb_to_recordset(${json(db, oldSerials)}) AS d(item_id text, serial text, warehouse_id text, location text, status text, state text)
    WHERE s.item_id = d.item_id AND s.serial = d.serial`,
  );
  // A serial that did not exist when planned may have been received by someone else since.
  send(
    newSerials.length > 0 &&
      db`
    WITH added AS (
      INSERT INTO serials (item_id, serial, warehouse_id, location, status, state)
      SELECT item_id, serial, warehouse_id, location, status, state
      FROM jsonb_to_recordset(${json(db, newSerials)}) AS d(item_id text, serial text, warehouse_id text, location text, status text, state text)
      ORDER BY item_id, serial
      ON CONFLICT (item_id, serial) DO NOTHING
      RETURNING 1)
    SELECT ledger_assert((SELECT count(*) FROM added) = ${newSerials.length}, 'a new serial appeared')`,
  );
  send(
    w.consumed.length > 0 &&
      db`
    WITH consumed AS (
      UPDATE reservations r SET status = 'CONSUMED', consumed_by = d.consumed_by, updated_at = d.updated_at
      FROM jsonb_to_recordset(${json(db, w.consumed)}) AS d(id text, consumed_by text, updated_at timestamptz)
      WHERE r.id = d.id AND r.status = 'ACTIVE'
      RETURNING 1)
    SELECT ledger_assert((SELECT count(*) FROM consumed) = ${w.consumed.length}, 'a reservation is no longer ACTIVE')`,
  );
  send(
    w.reversed.length > 0 &&
      db`
    WITH reversed AS (
      UPDATE stock_moves m SET status = 'REVERSED', reversed_by = d.reversed_by
      FROM jsonb_to_recordset(${json(db, w.reversed)}) AS d(id text, reversed_by text)
      WHERE m.id = d.id AND m.status = 'POSTED'
      RETURNING 1)
    SELECT ledger_assert((SELECT count(*) FROM reversed) = ${w.reversed.length}, 'a move was reversed meanwhile')`,
  );
  send(w.events.length > 0 && insertEvents(db, w.events));
  send(w.audits.length > 0 && insertAudits(db, w.audits));
  return allInOrder(statements).then(() => undefined);
}

/**
 * Adds the deltas to location levels, making those that do not exist yet. Not an upsert: the
 * CHECKs would see a negative delta as the row to insert. Both run under the lock of the rows'
 * stock levels, so no other transaction makes the same row meanwhile.
 */
export function upsertLocationLevels(db: Db, changes: LocationLevelWrite[]): PendingQuery<any> {
  return db`
    WITH d AS (
      SELECT * FROM jsonb_to_recordset(${json(db, changes)}) AS d(item_id text, warehouse_id text, location text, batch text,
        on_hand numeric, quality_control numeric, damaged numeric, updated_at timestamptz)),
    changed AS (
      UPDATE location_levels ll SET on_hand = ll.on_hand + d.on_hand, quality_control = ll.quality_control + d.quality_control,
        damaged = ll.damaged + d.damaged, updated_at = d.updated_at
      FROM d WHERE (ll.item_id, ll.warehouse_id, ll.location, ll.batch) = (d.item_id, d.warehouse_id, d.location, d.batch)
      RETURNING ll.item_id, ll.warehouse_id, ll.location, ll.batch)
    INSERT INTO location_levels (item_id, warehouse_id, location, batch, on_hand, quality_control, damaged, updated_at)
    SELECT item_id, warehouse_id, location, batch, on_hand, quality_control, damaged, updated_at FROM d
    WHERE (item_id, warehouse_id, location, batch) NOT IN (SELECT * FROM changed)
    ORDER BY item_id, warehouse_id, location, batch`;
}
