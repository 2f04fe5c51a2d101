// The stock ledger: the one way stock changes. Stock moves, procurement receipts and reversals
// all post through postStockMove, on the caller's transaction (it never opens one, so several
// postings can share a transaction, each in its own savepoint):
//
//   validate (403 warehouse, 422 rules) → lock the touched stock levels in (item, warehouse) order
//   and expire their due reservations → 409 count-mismatch / reservation state / over-issuance
//   (lines of the same item summed first) → pick batches (FEFO) → move serials (conditional
//   updates, 422) → insert move and lines → update levels, batch levels, reservations →
//   one outbox event and one audit entry.
//
// A thrown ProblemError leaves writes behind on `db`; the caller's savepoint or transaction undoes
// them. The table CHECKs (on_hand >= 0, reserved <= on_hand) back every check made here.
import type { Db } from '../../db/client.ts';
import { writeAudit } from '../../db/audit.ts';
import { newId } from '../../db/ids.ts';
import { enqueueEvent } from '../../db/outbox.ts';
import { closeReservations, findReservations, type ReservationRow } from '../../db/reservations.ts';
import { batchesOf, changeBatches, changeLevels, ensureLevels, keyOf, lockLevels, moveSerials, type BatchChange, type BatchRow, type LevelRow, type StockKey } from '../../db/stock.ts';
import { insertMove, linesOf, markReversed, type NewLine } from '../../db/stock-moves.ts';
import { ProblemError, invalid, invalidState, type FieldError } from '../../server/problem.ts';
import { assertWarehouses, type Principal } from '../../server/plugins/auth.ts';
import type { Actor } from '../types.ts';
import { allocateBatches, overIssuance, type Piece } from './batches.ts';
import { defaultPointer, endpointsOf, resolveLines, type Line, type Pointer } from './move-rules.ts';
import { decimal, micro, type Micro } from './quantity.ts';
import { loadReferences } from './references.ts';
import { toReservation, toStockMove, type StockMove } from './representation.ts';

export type { StockMove };

export interface MoveLineInput { item_id: string; qty: number; batch?: string; expires_at?: string; serials?: string[]; reservation_id?: string; expected_on_hand?: number }
export interface MoveInput { type: 'ISSUE' | 'RECEIPT' | 'TRANSFER' | 'ADJUSTMENT'; from_wh?: string; to_wh?: string; reason?: string; reference?: string; lines: MoveLineInput[] }
export interface PostOptions {
  idempotencyKey?: string;
  receiptId?: string;            // set by procurement receipts; stored on the move
  reverses?: string;             // set by reversals
  /**
   * Maps (line index, field) to the JSON pointer used in 422 errors; default `#/lines/${i}/${field}`.
   * Receipts map into their own body. `field` may be a sub-path (`serials/2`). Errors about the
   * move's own fields use `#/from_wh`, `#/to_wh`, `#/reason`: callers posting from another body
   * validate their warehouse themselves first.
   */
  pointer?: (lineIndex: number, field: string) => string;
}

/** What a move does to one (item, warehouse): its net change, and whether any line brings stock there. */
interface Net { key: StockKey; change: Micro; receives: boolean }

/** The net change per (item, warehouse), in lock order: lines of the same item are summed. */
function netChanges(lines: Line[]): Map<string, Net> {
  const nets = new Map<string, Net>();
  const add = (item_id: string, warehouse_id: string, change: Micro) => {
    const k = keyOf(item_id, warehouse_id);
    const net = nets.get(k) ?? { key: { item_id, warehouse_id }, change: 0n, receives: false };
    net.change += change;
    net.receives ||= change > 0n;
    nets.set(k, net);
  };
  for (const line of lines) {
    if (line.source !== null) add(line.input.item_id, line.source, -line.amount);
    if (line.dest !== null) add(line.input.item_id, line.dest, line.amount);
  }
  return new Map([...nets].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** ADJUSTMENT compare-and-swap: `expected_on_hand` (of the batch, when named) must still be true. */
function checkCounts(lines: Line[], levels: Map<string, LevelRow>, batches: BatchRow[]): void {
  for (const { input, source, dest } of lines) {
    if (input.expected_on_hand === undefined) continue;
    const warehouse_id = (source ?? dest)!;
    const actual = input.batch === undefined
      ? levels.get(keyOf(input.item_id, warehouse_id))?.on_hand ?? 0
      : batches.find((b) => b.item_id === input.item_id && b.warehouse_id === warehouse_id && b.batch === input.batch)?.on_hand ?? 0;
    if (micro(actual) === micro(input.expected_on_hand)) continue;
    const what = input.batch === undefined ? input.item_id : `${input.item_id} batch ${input.batch}`;
    throw new ProblemError('count-mismatch', `${what} has ${actual} on hand in ${warehouse_id}, not the ${input.expected_on_hand} expected. Recount, then retry with the new figure.`, {
      item_id: input.item_id, warehouse_id, ...(input.batch !== undefined && { batch: input.batch }), expected: input.expected_on_hand, actual,
    });
  }
}

/** The ACTIVE reservations ISSUE lines consume (rows locked), and how much each level's check may count back. */
async function claimReservations(db: Db, lines: Line[], at: Pointer): Promise<{ claimed: ReservationRow[]; credits: Map<string, Micro> }> {
  const claiming = lines.filter((l) => l.input.reservation_id !== undefined);
  if (!claiming.length) return { claimed: [], credits: new Map() };
  const found = new Map((await findReservations(db, claiming.map((l) => l.input.reservation_id!), { lock: true })).map((r) => [r.id, r]));
  const errors: FieldError[] = [];
  for (const { index, input, source } of claiming) {
    const r = found.get(input.reservation_id!);
    if (!r) errors.push({ pointer: at(index, 'reservation_id'), code: 'unknown_reservation', detail: `No reservation ${input.reservation_id} exists.` });
    else if (r.item_id !== input.item_id || r.warehouse_id !== source) {
      errors.push({ pointer: at(index, 'reservation_id'), code: 'reservation_mismatch', detail: `Reservation ${r.id} holds ${r.item_id} in ${r.warehouse_id}, not ${input.item_id} in ${source}.` });
    }
  }
  if (errors.length) throw invalid(errors);
  const claimed = claiming.map((l) => found.get(l.input.reservation_id!)!);
  const closed = claimed.find((r) => r.status !== 'ACTIVE');
  if (closed) throw invalidState('Reservation', closed.id, closed.status, ['ACTIVE'], 'consumed');
  const credits = new Map<string, Micro>();
  for (const r of claimed) credits.set(keyOf(r.item_id, r.warehouse_id), (credits.get(keyOf(r.item_id, r.warehouse_id)) ?? 0n) + micro(r.qty));
  return { claimed, credits };
}

/** 409 over-issuance unless every level the move takes from has that much available (reservations it consumes count back). */
function checkAvailability(nets: Map<string, Net>, levels: Map<string, LevelRow>, credits: Map<string, Micro>): void {
  for (const [k, { key, change }] of nets) {
    if (change >= 0n) continue;
    const level = levels.get(k);
    const available = (level ? micro(level.on_hand) - micro(level.reserved) : 0n) + (credits.get(k) ?? 0n);
    if (-change > available) throw overIssuance(key.item_id, key.warehouse_id, -change, available);
  }
}

/** Moves the serials of every serial line; 422 for those not where the move says they are. */
async function moveLineSerials(db: Db, lines: Line[], at: Pointer): Promise<void> {
  const errors: FieldError[] = [];
  // By item, so concurrent postings lock serial rows in the same order.
  for (const { index, input, source, dest } of [...lines].sort((a, b) => (a.input.item_id < b.input.item_id ? -1 : 1))) {
    if (!input.serials?.length) continue;
    const moved = new Set(await moveSerials(db, input.item_id, input.serials, source, dest));
    input.serials.forEach((serial, j) => {
      if (moved.has(serial)) return;
      errors.push(source === null
        ? { pointer: at(index, `serials/${j}`), code: 'serial_in_stock', detail: `Serial ${serial} of ${input.item_id} is already in stock.` }
        : { pointer: at(index, `serials/${j}`), code: 'serial_not_in_stock', detail: `Serial ${serial} of ${input.item_id} is not in stock in ${source}.` });
    });
  }
  if (errors.length) throw invalid(errors);
}

function postedLine(type: MoveInput['type'], { line, amount, batch, expires_at, first }: Piece): NewLine {
  const { input } = line;
  return {
    item_id: input.item_id,
    qty: decimal(type === 'ADJUSTMENT' && line.source !== null ? -amount : amount),
    batch,
    expires_at,
    serials: input.serials ?? [],
    reservation_id: first ? input.reservation_id ?? null : null,
    expected_on_hand: first && input.expected_on_hand !== undefined ? decimal(micro(input.expected_on_hand)) : null,
  };
}

/** One change per batch and warehouse the pieces take from or bring to. */
function batchChanges(pieces: Piece[]): BatchChange[] {
  const changes = new Map<string, BatchChange & { delta: Micro }>();
  const add = (item_id: string, warehouse_id: string, batch: string, delta: Micro, expires_at: string | null) => {
    const k = JSON.stringify([item_id, warehouse_id, batch]);
    const change = changes.get(k) ?? { item_id, warehouse_id, batch, delta: 0n, on_hand: '', expires_at };
    change.delta += delta;
    changes.set(k, change);
  };
  for (const { line, amount, batch, expires_at } of pieces) {
    if (batch === null) continue;
    if (line.source !== null) add(line.input.item_id, line.source, batch, -amount, expires_at);
    if (line.dest !== null) add(line.input.item_id, line.dest, batch, amount, expires_at);
  }
  return [...changes.values()].filter((c) => c.delta !== 0n).map(({ delta, ...c }) => ({ ...c, on_hand: decimal(delta) }));
}

async function consumeReservations(db: Db, actor: Actor, claimed: ReservationRow[], moveId: string): Promise<void> {
  if (!claimed.length) return;
  const consumed = new Map((await closeReservations(db, claimed.map((r) => r.id), 'CONSUMED', moveId)).map((r) => [r.id, r]));
  for (const before of claimed) {
    await writeAudit(db, actor, { action: 'reservation.consumed', entity: 'reservation', entityId: before.id, warehouseIds: [before.warehouse_id], before: toReservation(before), after: toReservation(consumed.get(before.id)!) });
  }
}

/** Marks the reversed move REVERSED (linking it to its reversal) and audits that change. */
async function linkReversal(db: Db, actor: Actor, originalId: string, reversalId: string): Promise<void> {
  // Conditional, so of two concurrent reversals of one move only the first marks it.
  const original = await markReversed(db, originalId, reversalId);
  if (!original) throw invalidState('Stock move', originalId, 'REVERSED', ['POSTED'], 'reversed');
  const lines = await linesOf(db, [originalId]);
  await writeAudit(db, actor, {
    action: 'stock_move.reversed', entity: 'stock_move', entityId: originalId, warehouseIds: [original.from_wh, original.to_wh].filter((w) => w !== null),
    before: toStockMove({ ...original, status: 'POSTED', reversed_by: null }, lines), after: toStockMove(original, lines),
  });
}

/**
 * The stock levels a move will lock, from its request alone (no database): group commit locks
 * them for a whole batch up front, in one sorted statement. Lines with missing warehouses are
 * left out; validation refuses them later.
 */
export function stockKeysOf(input: MoveInput): StockKey[] {
  return input.lines.flatMap((line) => {
    const { source, dest } = endpointsOf(input, line.qty);
    return [source, dest].filter((w): w is string => typeof w === 'string').map((warehouse_id) => ({ item_id: line.item_id, warehouse_id }));
  });
}

export async function postStockMove(db: Db, actor: Actor, principal: Principal, input: MoveInput, options: PostOptions = {}): Promise<StockMove> {
  const at = options.pointer ?? defaultPointer;
  const warehouseIds = [input.from_wh, input.to_wh].filter((w) => w !== undefined);
  assertWarehouses(principal, ...warehouseIds);
  const lines = resolveLines(input, await loadReferences(db, input.lines.map((l) => l.item_id), warehouseIds), at);

  const nets = netChanges(lines);
  const keys = [...nets.values()].map((n) => n.key);
  // Independent statements are sent together (postgres.js pipelines them on the transaction's
  // connection and PostgreSQL runs them in order): one round trip instead of one each.
  const batchItems = new Set(lines.filter((l) => l.trackBy === 'BATCH').map((l) => l.input.item_id));
  const [, levels, batches] = await Promise.all([
    ensureLevels(db, [...nets.values()].filter((n) => n.receives).map((n) => n.key)),
    lockLevels(db, keys),
    batchesOf(db, keys.filter((k) => batchItems.has(k.item_id))),
  ]);
  checkCounts(lines, levels, batches);
  const { claimed, credits } = await claimReservations(db, lines, at);
  checkAvailability(nets, levels, credits);
  const pieces = allocateBatches(lines, batches);
  await moveLineSerials(db, lines, at);

  const id = newId('sm');
  const [posted] = await Promise.all([
    insertMove(db, {
      id, type: input.type, from_wh: input.from_wh ?? null, to_wh: input.to_wh ?? null, reason: input.reason ?? null, reference: input.reference ?? null,
      idempotency_key: options.idempotencyKey ?? null, reverses: options.reverses ?? null, receipt_id: options.receiptId ?? null, created_by: actor.sub,
    }, pieces.map((p) => postedLine(input.type, p))),
    changeLevels(db, [...nets].map(([k, { key, change }]) => ({ ...key, on_hand: decimal(change), reserved: decimal(-(credits.get(k) ?? 0n)) }))),
    changeBatches(db, batchChanges(pieces)),
  ]);
  const move = toStockMove(posted.move, posted.lines);
  await Promise.all([
    consumeReservations(db, actor, claimed, id),
    options.reverses !== undefined && linkReversal(db, actor, options.reverses, id),
    enqueueEvent(db, 'inventory.stock_move.posted', move),
    writeAudit(db, actor, { action: 'stock_move.posted', entity: 'stock_move', entityId: id, warehouseIds, after: move }),
  ]);
  return move;
}
