// Status changes: documents moving stock on hand between its states (unrestricted, quality
// control, damaged) in one warehouse. Not stock moves: on_hand does not change, only the held
// figures of the levels, batch levels and serials (db/migrations/0023_stock_states.sql). The caller
// holds the levels' locks (lockLevels) and has checked the quantities against them; the table
// CHECKs back that check.
import { allInOrder, type Db } from './client.ts';
import { upsertLocationLevels, type LocationLevelWrite } from './ledger.ts';
import { keysetOrder, keysetWhere, type Keyset } from './keyset.ts';
import type { ScopedPage } from './listing.ts';
import type { LevelAfter, StockKey, StockState } from './stock.ts';

export interface StatusChangeRow {
  id: string;
  warehouse_id: string;
  reason: string;
  created_by: string;
  created_at: string;
}

export interface StatusChangeLine {
  item_id: string;
  qty: number;
  from_state: StockState;
  to_state: StockState;
  batch?: string;
  serials?: string[];
  /** The location whose stock changes state; the request's, or where it was picked. */
  from_location?: string;
}

export interface StatusChangeLineRow {
  status_change_id: string;
  item_id: string;
  qty: number;
  from_state: StockState;
  to_state: StockState;
  batch: string | null;
  serials: string[];
  from_location: string | null;
}

/** Exact decimal deltas of the held figures (unrestricted is what they are not). */
export interface HeldChange extends StockKey {
  quality_control: string;
  damaged: string;
}

const columns = (db: Db) => db`id, warehouse_id, reason, created_by, created_at`;

/** A new status change with its lines (its statements are sent when called, in order). */
export async function insertStatusChange(
  db: Db,
  r: Omit<StatusChangeRow, 'created_at'> & { idempotency_key: string | null },
  lines: StatusChangeLine[],
): Promise<StatusChangeRow> {
  const rows = lines.map((l, i) => ({
    status_change_id: r.id,
    line_no: i,
    item_id: l.item_id,
    qty: l.qty,
    from_state: l.from_state,
    to_state: l.to_state,
    batch: l.batch ?? null,
    serials: l.serials ?? [],
    from_location: l.from_location ?? null,
  }));
  const [[row]] = await allInOrder([
    db<StatusChangeRow[]>`
    INSERT INTO status_changes (id, warehouse_id, reason, idempotency_key, created_by)
    VALUES (${r.id}, ${r.warehouse_id}, ${r.reason}, ${r.idempotency_key}, ${r.created_by})
    RETURNING ${columns(db)}`.execute(),
    db`INSERT INTO status_change_lines ${db(rows)}`.execute(),
  ]);
  return row;
}

/**
 * Applies the held deltas to the locked levels and batch levels and the serials' new states, in
 * one round trip; returns the levels as they are after. A level or batch change that would break
 * a CHECK (a held figure below zero, held + reserved above on_hand) fails the transaction.
 */
export async function applyStatusChange(
  db: Db,
  levels: HeldChange[],
  batches: (HeldChange & { batch: string })[],
  serials: { item_id: string; serial: string; state: StockState }[],
  locations: LocationLevelWrite[],
): Promise<LevelAfter[]> {
  const json = (rows: unknown[]) => db.json(rows as never);
  const [after] = await allInOrder([
    db<LevelAfter[]>`
    UPDATE stock_levels s SET quality_control = s.quality_control + d.quality_control, damaged = s.damaged + d.damaged,
      updated_at = now()
    FROM jsonb_to_recordset(${json(levels)}) AS d(item_id text, warehouse_id text, quality_control numeric, damaged numeric)
    WHERE s.item_id = d.item_id AND s.warehouse_id = d.warehouse_id
    RETURNING s.item_id, s.warehouse_id, s.on_hand, s.reserved, s.incoming, s.undated_incoming, s.quality_control, s.damaged, s.updated_at`.execute(),
    batches.length > 0 &&
      db`
    UPDATE batch_levels b SET quality_control = b.quality_control + d.quality_control, damaged = b.damaged + d.damaged
    FROM jsonb_to_recordset(${json(batches)}) AS d(item_id text, warehouse_id text, batch text, quality_control numeric, damaged numeric)
    WHERE b.item_id = d.item_id AND b.warehouse_id = d.warehouse_id AND b.batch = d.batch`.execute(),
    serials.length > 0 &&
      db`
    UPDATE serials s SET state = d.state, updated_at = now()
    FROM jsonb_to_recordset(${json(serials)}) AS d(item_id text, serial text, state text)
    WHERE s.item_id = d.item_id AND s.serial = d.serial`.execute(),
    // Last: the database checks the locations against the levels and batches just written.
    locations.length > 0 && upsertLocationLevels(db, locations).execute(),
  ]);
  return after as LevelAfter[];
}

export async function findStatusChange(db: Db, id: string): Promise<StatusChangeRow | null> {
  const [row] = await db<
    StatusChangeRow[]
  >`SELECT ${columns(db)} FROM status_changes WHERE id = ${id}`;
  return row ?? null;
}

export async function statusChangeLines(db: Db, ids: string[]): Promise<StatusChangeLineRow[]> {
  return db<StatusChangeLineRow[]>`
    SELECT status_change_id, item_id, qty, from_state, to_state, batch, serials, from_location
    FROM status_change_lines WHERE status_change_id = ANY(${ids})
    ORDER BY status_change_id, line_no`;
}

export async function listStatusChanges(
  db: Db,
  f: { warehouse_id?: string; keyset: Keyset } & ScopedPage<unknown[]>,
): Promise<StatusChangeRow[]> {
  return db<StatusChangeRow[]>`
    SELECT ${columns(db)} FROM status_changes
    WHERE true
      ${f.warehouse_id === undefined ? db`` : db`AND warehouse_id = ${f.warehouse_id}`}
      ${f.allowed === null ? db`` : db`AND warehouse_id = ANY(${f.allowed}::text[])`}
      ${keysetWhere(db, f.keyset, f.after)}
    ${keysetOrder(db, f.keyset)}
    LIMIT ${f.limit + 1}`;
}
