// The stock ledger: posted moves and their lines, append-only (0002_inventory.sql refuses any
// other change than marking a move REVERSED once).
import type { Db } from './client.ts';
import type { ScopedPage } from './listing.ts';

export type MoveType = 'ISSUE' | 'RECEIPT' | 'TRANSFER' | 'ADJUSTMENT';

export interface MoveRow {
  id: string;
  type: MoveType;
  status: 'POSTED' | 'REVERSED';
  from_wh: string | null;
  to_wh: string | null;
  reason: string | null;
  reference: string | null;
  idempotency_key: string | null;
  reverses: string | null;
  reversed_by: string | null;
  receipt_id: string | null;
  created_by: string;
  created_at: string;
}

export interface LineRow {
  move_id: string;
  line_no: number;
  item_id: string;
  qty: number;
  batch: string | null;
  expires_at: string | null;
  serials: string[];
  reservation_id: string | null;
  expected_on_hand: number | null;
}

export type NewMove = Omit<MoveRow, 'status' | 'reversed_by' | 'created_at'>;

/** A line to insert; quantities are exact decimal strings. */
export type NewLine = Omit<LineRow, 'move_id' | 'line_no' | 'qty' | 'expected_on_hand'> & { qty: string; expected_on_hand: string | null };

const moveColumns = (db: Db) => db`id, type, status, from_wh, to_wh, reason, reference, idempotency_key, reverses, reversed_by, receipt_id, created_by, created_at`;
const lineColumns = (db: Db) => db`move_id, line_no, item_id, qty, batch, expires_at, serials, reservation_id, expected_on_hand`;

export async function insertMove(db: Db, m: NewMove, lines: NewLine[]): Promise<{ move: MoveRow; lines: LineRow[] }> {
  // The move and its lines in one round trip (pipelined, run in order, so the lines' foreign key holds).
  const [[move], rows] = await Promise.all([db<MoveRow[]>`
    INSERT INTO stock_moves (id, type, from_wh, to_wh, reason, reference, idempotency_key, reverses, receipt_id, created_by)
    VALUES (${m.id}, ${m.type}, ${m.from_wh}, ${m.to_wh}, ${m.reason}, ${m.reference}, ${m.idempotency_key}, ${m.reverses}, ${m.receipt_id}, ${m.created_by})
    RETURNING ${moveColumns(db)}`,
  // One statement for all lines; jsonb carries each line's serials array intact.
  db<LineRow[]>`
    INSERT INTO stock_move_lines (move_id, line_no, item_id, qty, batch, expires_at, serials, reservation_id, expected_on_hand)
    SELECT ${m.id}, l.line_no, l.item_id, l.qty, l.batch, l.expires_at, ARRAY(SELECT jsonb_array_elements_text(l.serials)), l.reservation_id, l.expected_on_hand
    FROM jsonb_to_recordset(${db.json(lines.map((l, line_no) => ({ line_no, ...l })))}) AS l(
      line_no int, item_id text, qty numeric, batch text, expires_at timestamptz, serials jsonb, reservation_id text, expected_on_hand numeric)
    RETURNING ${lineColumns(db)}`]);
  return { move, lines: rows.sort((a, b) => a.line_no - b.line_no) };
}

export async function findMove(db: Db, id: string, { lock = false } = {}): Promise<MoveRow | null> {
  const [row] = await db<MoveRow[]>`SELECT ${moveColumns(db)} FROM stock_moves WHERE id = ${id} ${lock ? db`FOR UPDATE` : db``}`;
  return row ?? null;
}

/** Marks a POSTED move REVERSED by `reversedBy`; null when it was not POSTED (already reversed). */
export async function markReversed(db: Db, id: string, reversedBy: string): Promise<MoveRow | null> {
  const [row] = await db<MoveRow[]>`UPDATE stock_moves SET status = 'REVERSED', reversed_by = ${reversedBy} WHERE id = ${id} AND status = 'POSTED' RETURNING ${moveColumns(db)}`;
  return row ?? null;
}

export async function linesOf(db: Db, moveIds: string[]): Promise<LineRow[]> {
  if (!moveIds.length) return [];
  return db<LineRow[]>`SELECT ${lineColumns(db)} FROM stock_move_lines WHERE move_id = ANY(${moveIds}::text[]) ORDER BY move_id, line_no`;
}

export interface MoveFilters extends ScopedPage {
  type?: MoveType;
  item_id?: string;
  warehouse_id?: string;
}

export async function listMoves(db: Db, f: MoveFilters): Promise<MoveRow[]> {
  return db<MoveRow[]>`
    SELECT ${moveColumns(db)} FROM stock_moves m
    WHERE true
      ${f.type === undefined ? db`` : db`AND type = ${f.type}`}
      ${f.item_id === undefined ? db`` : db`AND EXISTS (SELECT 1 FROM stock_move_lines l WHERE l.move_id = m.id AND l.item_id = ${f.item_id})`}
      ${f.warehouse_id === undefined ? db`` : db`AND (from_wh = ${f.warehouse_id} OR to_wh = ${f.warehouse_id})`}
      ${f.allowed === null ? db`` : db`AND (from_wh = ANY(${f.allowed}::text[]) OR to_wh = ANY(${f.allowed}::text[]))`}
      ${f.after === null ? db`` : db`AND (created_at, id) < (${f.after[0]}::timestamptz, ${f.after[1]})`}
    ORDER BY created_at DESC, id DESC
    LIMIT ${f.limit + 1}`;
}
