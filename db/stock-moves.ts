// The stock ledger: posted moves and their lines, append-only (0002_inventory.sql refuses any
// other change than marking a move REVERSED once).
import type { Db } from './client.ts';
import { keysetOrder, keysetWhere, type Keyset } from './keyset.ts';
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
  /** The held state an ISSUE line took from / a RECEIPT line brought into; null: unrestricted. */
  from_state: HeldState | null;
  to_state: HeldState | null;
  /** The locations (codes) the line took its stock from and put it; null where it has no such end, and on lines posted before locations. */
  from_location: string | null;
  to_location: string | null;
  /** The unit the line was given in, when not stock units (stock_move_line_units; echoed only). */
  uom?: string;
  uom_qty?: number;
}

/** A posted line given in a unit: what storeLineUnits keeps next to it. */
export interface MoveLineUnits {
  move_id: string;
  line_no: number;
  uom: string;
  uom_qty: number;
}

/**
 * Keeps the unit lines were given in next to the lines the ledger wrote (in the same round trip,
 * after them; its statement is sent when called). Resolves at once when there are none.
 */
export function storeLineUnits(db: Db, lines: MoveLineUnits[]): Promise<unknown> {
  if (!lines.length) return Promise.resolve();
  return db`INSERT INTO stock_move_line_units ${db(lines)}`.execute();
}

/** The units lines of these moves were given in, by "move_id/line_no". */
export async function lineUnitsOf(db: Db, moveIds: string[]): Promise<Map<string, MoveLineUnits>> {
  if (!moveIds.length) return new Map();
  const rows = await db<MoveLineUnits[]>`
    SELECT move_id, line_no, uom, uom_qty FROM stock_move_line_units WHERE move_id = ANY(${moveIds}::text[])`;
  return new Map(rows.map((r) => [`${r.move_id}/${r.line_no}`, r]));
}

export type HeldState = 'quality_control' | 'damaged';

const moveColumns = (db: Db) =>
  db`id, type, status, from_wh, to_wh, reason, reference, idempotency_key, reverses, reversed_by, receipt_id, created_by, created_at`;
const lineColumns = (db: Db) =>
  db`move_id, line_no, item_id, qty, batch, expires_at, serials, reservation_id, expected_on_hand, from_state, to_state, from_location, to_location`;

/** Moves by id, unlocked (a reversal locks its original first). */
export async function findMoves(db: Db, ids: string[]): Promise<MoveRow[]> {
  if (!ids.length) return [];
  return db<MoveRow[]>`SELECT ${moveColumns(db)} FROM stock_moves WHERE id = ANY(${ids}::text[])`;
}

export async function findMove(db: Db, id: string, { lock = false } = {}): Promise<MoveRow | null> {
  const [row] = await db<
    MoveRow[]
  >`SELECT ${moveColumns(db)} FROM stock_moves WHERE id = ${id} ${lock ? db`FOR UPDATE` : db``}`;
  return row ?? null;
}

export async function linesOf(db: Db, moveIds: string[]): Promise<LineRow[]> {
  if (!moveIds.length) return [];
  return db<
    LineRow[]
  >`SELECT ${lineColumns(db)} FROM stock_move_lines WHERE move_id = ANY(${moveIds}::text[]) ORDER BY move_id, line_no`;
}

export interface MoveFilters extends ScopedPage<unknown[]> {
  type?: MoveType;
  item_id?: string;
  warehouse_id?: string;
  /** [created_after, created_before): half-open, so consecutive windows tile. */
  created_after?: string;
  created_before?: string;
  batch?: string;
  serial?: string;
  reference?: string;
  keyset: Keyset;
}

/** Moves with a line matching all of these (one line: a batch of the item, not of another). */
function lineFilter(db: Db, f: MoveFilters) {
  if (f.item_id === undefined && f.batch === undefined && f.serial === undefined) return db``;
  return db`AND EXISTS (SELECT 1 FROM stock_move_lines l WHERE l.move_id = m.id
    ${f.item_id === undefined ? db`` : db`AND l.item_id = ${f.item_id}`}
    ${f.batch === undefined ? db`` : db`AND l.batch = ${f.batch}`}
    ${f.serial === undefined ? db`` : db`AND l.serials @> ARRAY[${f.serial}]::text[]`})`;
}

export async function listMoves(db: Db, f: MoveFilters): Promise<MoveRow[]> {
  return db<MoveRow[]>`
    SELECT ${moveColumns(db)} FROM stock_moves m
    WHERE true
      ${f.type === undefined ? db`` : db`AND type = ${f.type}`}
      ${lineFilter(db, f)}
      ${f.created_after === undefined ? db`` : db`AND created_at >= ${f.created_after}::timestamptz`}
      ${f.created_before === undefined ? db`` : db`AND created_at < ${f.created_before}::timestamptz`}
      ${f.reference === undefined ? db`` : db`AND reference = ${f.reference}`}
      ${f.warehouse_id === undefined ? db`` : db`AND (from_wh = ${f.warehouse_id} OR to_wh = ${f.warehouse_id})`}
      ${f.allowed === null ? db`` : db`AND (from_wh = ANY(${f.allowed}::text[]) OR to_wh = ANY(${f.allowed}::text[]))`}
      ${keysetWhere(db, f.keyset, f.after)}
    ${keysetOrder(db, f.keyset)}
    LIMIT ${f.limit + 1}`;
}
