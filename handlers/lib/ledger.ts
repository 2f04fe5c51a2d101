// The stock ledger: the one way stock changes. Stock moves (one at a time, or a whole group-commit
// batch of them), procurement receipts and reversals all post through here, on the caller's
// transaction (it never opens one), through a Ledger (below). Three steps, whatever the number
// of postings:
//
//   load   one round trip: items and warehouses named; the stock levels touched, locked in
//          (item, warehouse) order (their due reservations expired on the way); their batches;
//          the serials named, locked; the reservations consumed, locked; moves being reversed;
//          the locations named, DEFAULT and the putaway targets; the levels' location levels.
//   post   in memory, posting after posting against that state (each sees the ones before it):
//          403 warehouse → 422 rules and locations → 409 count-mismatch / reservation state /
//          over-issuance (lines of an item summed) → batches (FEFO) → serials (422) → locations
//          (locations.ts: named, picked, put away; 409 at a location). A refused posting changes
//          nothing; an accepted one updates the state and adds its rows to the writes.
//   write  one round trip (db/ledger.ts): moves, lines, levels (summed per level over the whole
//          batch, so a hot item is written once), batch levels, location levels (last of the
//          stock: the database checks they sum to the levels), serials, reservations, reversal
//          links, then the events (of due reservations expired by load, then per posting its
//          move, the move it reverses, the reservations it consumes and each level it changed, as
//          the posting left it) and one audit entry per move.
//
// The table CHECKs (on_hand >= 0, every held state >= 0, quality_control + damaged + reserved <=
// on_hand) back every check made here. Only unrestricted stock (on_hand less held) is issued,
// transferred, adjusted down or picked by FEFO; an ISSUE line with from_state scraps held stock.
import { allInOrder, type Db } from '../../db/client.ts';
import type { AuditEntry } from '../../db/audit.ts';
import { newId } from '../../db/ids.ts';
import { lockSerials, writeLedger, type LedgerWrites } from '../../db/ledger.ts';
import type { OutboxEvent } from '../../db/outbox.ts';
import { findReservations, type ReservationRow } from '../../db/reservations.ts';
import {
  batchesOf,
  byKey,
  keyOf,
  locationLevelsOf,
  locationsFor,
  lockLevels,
  type BatchRow,
  type LevelRow,
  type LocationLevelRow,
  type LocationRef,
  type StockKey,
  type StockState,
} from '../../db/stock.ts';
import {
  findMoves,
  linesOf,
  type HeldState,
  type LineRow,
  type MoveRow,
} from '../../db/stock-moves.ts';
import { isoInstant } from '../../domain/instants.ts';
import { must } from '../../domain/must.ts';
import { ProblemError, invalid, invalidState, type FieldError } from '../../domain/problems.ts';
import { assertWarehouses, type Principal } from '../../domain/access.ts';
import type { Actor } from '../types.ts';
import {
  allocateBatches,
  batchKey,
  inState,
  insufficientQuantity,
  overIssuance,
  type Piece,
} from './batches.ts';
import {
  defaultPointer,
  endpointsOf,
  resolveLines,
  serialKey,
  type Line,
  type Pointer,
} from './move-rules.ts';
import { decimal, micro, toNumber, type Micro } from './quantity.ts';
import { DEFAULT_LOCATION, locatePieces, type LocatedPiece } from './locations.ts';
import { loadReferences, type References } from './references.ts';
import { toReservation, toStockMove, type StockMove } from './representation.ts';
import {
  expiryEvents,
  levelFigures,
  reservationEvent,
  stockLevelEvent,
  stockMoveEvent,
} from './catalogue.ts';

export interface MoveLineInput {
  item_id: string;
  qty: number;
  batch?: string;
  expires_at?: string;
  serials?: string[];
  reservation_id?: string;
  expected_on_hand?: number;
  /** ISSUE only: take held stock of this state (scrap) instead of unrestricted. */
  from_state?: HeldState;
  /** RECEIPT only: bring the stock in held in this state. */
  to_state?: HeldState;
  /** The location (code) the line takes from; else picked. */
  from_location?: string;
  /** The location (code) the line puts into; else putaway, else DEFAULT. */
  to_location?: string;
}
export interface MoveInput {
  type: 'ISSUE' | 'RECEIPT' | 'TRANSFER' | 'ADJUSTMENT';
  from_wh?: string;
  to_wh?: string;
  reason?: string;
  reference?: string;
  lines: MoveLineInput[];
}
export interface PostOptions {
  idempotencyKey?: string;
  receiptId?: string; // set by procurement receipts; stored on the move
  reverses?: string; // set by reversals
  /**
   * Maps (line index, field) to the JSON pointer used in 422 errors; default `#/lines/${i}/${field}`.
   * Receipts map into their own body. `field` may be a sub-path (`serials/2`). Errors about the
   * move's own fields use `#/from_wh`, `#/to_wh`, `#/reason`: callers posting from another body
   * validate their warehouse themselves first.
   */
  pointer?: (lineIndex: number, field: string) => string;
  /**
   * How the posting's purchase order changes the incoming quantities of its levels (a receipt
   * lowers them, its reversal raises them again). The database applies them itself
   * (db/migrations/0022_incoming.sql); the ledger adds them to its state only so that its level
   * events show the figures as of their commit.
   */
  incoming?: IncomingChange[];
}

export interface IncomingChange extends StockKey {
  incoming: Micro;
  undated: Micro;
}

export interface Posting {
  actor: Actor;
  principal: Principal;
  input: MoveInput;
  options?: PostOptions;
}

/**
 * The stock levels a move will lock, from its request alone (no database). Lines with missing
 * warehouses are left out; validation refuses them later.
 */
function stockKeysOf(input: MoveInput): StockKey[] {
  return input.lines.flatMap((line) => {
    const { source, dest } = endpointsOf(input, line.qty);
    return [source, dest]
      .filter((w): w is string => typeof w === 'string')
      .map((warehouse_id) => ({ item_id: line.item_id, warehouse_id }));
  });
}

// ---- the state postings are planned against ----

interface Level {
  onHand: Micro;
  reserved: Micro;
  incoming: Micro;
  undatedIncoming: Micro;
  /** Held stock; unrestricted is onHand less these. */
  qualityControl: Micro;
  damaged: Micro;
  exists: boolean;
}
interface Batch {
  row: BatchRow;
  onHand: Micro;
  qualityControl: Micro;
  damaged: Micro;
  exists: boolean;
}
interface Serial {
  warehouse_id: string | null;
  location: string | null;
  status: 'IN_STOCK' | 'ISSUED';
  state: StockState;
  exists: boolean;
}

/** Changes of the held figures, by state (unrestricted is what on_hand changes besides them). */
interface Held {
  qualityControl: Micro;
  damaged: Micro;
}
const noHeld = (): Held => ({ qualityControl: 0n, damaged: 0n });
/** Adds `amount` to `held`'s figure of `state` (nothing for unrestricted). */
function addHeld(held: Held, state: StockState, amount: Micro): void {
  if (state === 'quality_control') held.qualityControl += amount;
  else if (state === 'damaged') held.damaged += amount;
}

interface State {
  refs: References;
  levels: Map<string, Level>;
  /** By (item, warehouse): the batches there (allocateBatches takes them in FEFO order). */
  batches: Map<string, Batch[]>;
  serials: Map<string, Serial>;
  reservations: Map<string, ReservationRow>;
  reversing: Map<string, { move: MoveRow; lines: LineRow[] }>;
  /** Locations named and putaway targets, by locationKey. */
  locations: Map<string, LocationRef>;
  /** By (item, warehouse): where the putaway rule sends its stock. */
  putaway: Map<string, string>;
  /** By (item, warehouse): its location levels with stock (changed as postings are applied). */
  locationLevels: Map<string, LocationLevelRow[]>;
  /** The events of the reservations load expired (lockLevels), owed whatever the postings do. */
  expired: OutboxEvent[];
}

async function load(db: Db, postings: Posting[]): Promise<State> {
  const inputs = postings.map((p) => p.input);
  const levelKeys = [
    ...new Map(inputs.flatMap(stockKeysOf).map((k) => [keyOf(k.item_id, k.warehouse_id), k])),
  ]
    .sort(([a], [b]) => byKey(a, b))
    .map(([, k]) => k);
  const serialPairs = [
    ...new Map(
      inputs
        .flatMap((i) =>
          i.lines.flatMap((l) =>
            (l.serials ?? []).map((serial) => ({ item_id: l.item_id, serial })),
          ),
        )
        .map((p) => [serialKey(p.item_id, p.serial), p]),
    ),
  ]
    .sort(([a], [b]) => byKey(a, b))
    .map(([, p]) => p);
  const reservationIds = [
    ...new Set(
      inputs.flatMap((i) =>
        i.lines.flatMap((l) => (l.reservation_id === undefined ? [] : [l.reservation_id])),
      ),
    ),
  ];
  const reversing = [
    ...new Set(
      postings.flatMap((p) => (p.options?.reverses === undefined ? [] : [p.options.reverses])),
    ),
  ];
  const namedLocations = [
    ...new Map(
      inputs
        .flatMap((i) => [
          ...[i.from_wh, i.to_wh].flatMap((w) =>
            w === undefined ? [] : [{ warehouse_id: w, code: DEFAULT_LOCATION }],
          ),
          ...i.lines.flatMap((l) => {
            const { source, dest } = endpointsOf(i, l.qty);
            const named: { warehouse_id: string; code: string }[] = [];
            if (typeof source === 'string' && l.from_location !== undefined)
              named.push({ warehouse_id: source, code: l.from_location });
            if (typeof dest === 'string' && l.to_location !== undefined)
              named.push({ warehouse_id: dest, code: l.to_location });
            return named;
          }),
        ])
        .map((n) => [locationKey(n.warehouse_id, n.code), n]),
    ).values(),
  ];
  // One round trip; PostgreSQL takes the locks in this order: levels, serials, reservations.
  const [refs, levels, batches, serials, reservations, moves, movedLines, locations, located] =
    await allInOrder([
      loadReferences(
        db,
        inputs.flatMap((i) => i.lines.map((l) => l.item_id)),
        inputs.flatMap((i) => [i.from_wh, i.to_wh].filter((w) => w !== undefined)),
      ),
      levelKeys.length
        ? lockLevels(db, levelKeys)
        : { levels: new Map<string, LevelRow>(), expired: [] },
      batchesOf(db, levelKeys),
      lockSerials(db, serialPairs),
      reservationIds.length ? findReservations(db, reservationIds, { lock: true }) : [],
      reversing.length ? findMoves(db, reversing) : [],
      linesOf(db, reversing),
      locationsFor(db, namedLocations, levelKeys),
      locationLevelsOf(db, levelKeys),
    ]);
  const state: State = {
    refs,
    levels: new Map([...levels.levels].map(([k, l]) => [k, { ...levelFigures(l), exists: true }])),
    batches: new Map(),
    serials: new Map(
      serials.map((s) => [
        serialKey(s.item_id, s.serial),
        {
          warehouse_id: s.warehouse_id,
          location: s.location,
          status: s.status,
          state: s.state,
          exists: true,
        },
      ]),
    ),
    reservations: new Map(reservations.map((r) => [r.id, r])),
    reversing: new Map(
      moves.map((m) => [m.id, { move: m, lines: movedLines.filter((l) => l.move_id === m.id) }]),
    ),
    locations: new Map(locations.map((l) => [locationKey(l.warehouse_id, l.code), l])),
    // A rule whose location is inactive sends nothing there: stock goes to DEFAULT instead.
    putaway: new Map(
      locations.flatMap((l) =>
        l.putaway_for !== null && l.active ? [[keyOf(l.putaway_for, l.warehouse_id), l.code]] : [],
      ),
    ),
    locationLevels: new Map(),
    expired: [],
  };
  for (const row of located) {
    const k = keyOf(row.item_id, row.warehouse_id);
    state.locationLevels.set(k, [...(state.locationLevels.get(k) ?? []), row]);
  }
  for (const row of batches)
    batchList(state, row.item_id, row.warehouse_id).push({
      row,
      onHand: micro(row.on_hand),
      qualityControl: micro(row.quality_control),
      damaged: micro(row.damaged),
      exists: true,
    });
  state.expired = expiryEvents(levels.expired, (key) => levelDetails(state, key));
  return state;
}

const locationKey = (warehouse_id: string, code: string) => JSON.stringify([warehouse_id, code]);

function batchList(state: State, item_id: string, warehouse_id: string): Batch[] {
  const k = keyOf(item_id, warehouse_id);
  let list = state.batches.get(k);
  if (!list) {
    list = [];
    state.batches.set(k, list);
  }
  return list;
}

/** What a level's event shows besides its figures: its item's tracking and its batches now. */
function levelDetails(state: State, key: StockKey) {
  return {
    track_by: must(state.refs.items.get(key.item_id), 'item of a locked level').track_by,
    batches: (state.batches.get(keyOf(key.item_id, key.warehouse_id)) ?? []).map(batchRow),
  };
}

/** Levels as LevelRow numbers, for the checks below. */
function levelView(state: State, key: StockKey): LevelRow | undefined {
  const level = state.levels.get(keyOf(key.item_id, key.warehouse_id));
  return (
    level && {
      ...key,
      on_hand: toNumber(level.onHand),
      reserved: toNumber(level.reserved),
      incoming: toNumber(level.incoming),
      undated_incoming: toNumber(level.undatedIncoming),
      quality_control: toNumber(level.qualityControl),
      damaged: toNumber(level.damaged),
    }
  );
}

const batchRow = (b: Batch): BatchRow => ({
  ...b.row,
  on_hand: toNumber(b.onHand),
  quality_control: toNumber(b.qualityControl),
  damaged: toNumber(b.damaged),
});

/** Batches on hand at a level, as rows (what FEFO and counts read). */
function batchRows(state: State, keys: StockKey[]): BatchRow[] {
  return keys.flatMap((k) =>
    (state.batches.get(keyOf(k.item_id, k.warehouse_id)) ?? []).map(batchRow),
  );
}

// ---- planning one posting ----

/** What a move does to one (item, warehouse): its net change of on_hand, and of the held states. */
interface Net {
  key: StockKey;
  change: Micro;
  held: Held;
}

/** The net change per (item, warehouse), in lock order: lines of the same item are summed. */
function netChanges(lines: Line[]): Map<string, Net> {
  const nets = new Map<string, Net>();
  const add = (item_id: string, warehouse_id: string, change: Micro, state: StockState) => {
    const k = keyOf(item_id, warehouse_id);
    const net = nets.get(k) ?? { key: { item_id, warehouse_id }, change: 0n, held: noHeld() };
    net.change += change;
    addHeld(net.held, state, change);
    nets.set(k, net);
  };
  for (const line of lines) {
    if (line.source !== null) add(line.input.item_id, line.source, -line.amount, line.sourceState);
    if (line.dest !== null) add(line.input.item_id, line.dest, line.amount, line.destState);
  }
  return new Map([...nets].sort(([a], [b]) => byKey(a, b)));
}

/** ADJUSTMENT compare-and-swap: `expected_on_hand` (of the batch, when named) must still be true. */
function checkCounts(state: State, lines: Line[]): void {
  for (const { input, source, dest } of lines) {
    if (input.expected_on_hand === undefined) continue;
    // Only ADJUSTMENT lines expect a count, and those take or bring stock in one warehouse (at
    // one location, when they name it: then the count is the location's).
    const warehouse_id = must(source ?? dest, 'warehouse of an ADJUSTMENT line');
    const location = input.from_location ?? input.to_location;
    const key = { item_id: input.item_id, warehouse_id };
    const actual =
      location !== undefined
        ? toNumber(
            (state.locationLevels.get(keyOf(input.item_id, warehouse_id)) ?? [])
              .filter((l) => l.location === location && l.batch === (input.batch ?? l.batch))
              .reduce((sum, l) => sum + micro(l.on_hand), 0n),
          )
        : input.batch === undefined
          ? (levelView(state, key)?.on_hand ?? 0)
          : (batchRows(state, [key]).find((b) => b.batch === input.batch)?.on_hand ?? 0);
    if (micro(actual) === micro(input.expected_on_hand)) continue;
    const what =
      input.batch === undefined ? input.item_id : `${input.item_id} batch ${input.batch}`;
    const where =
      location === undefined ? `in ${warehouse_id}` : `at ${location} in ${warehouse_id}`;
    throw new ProblemError(
      'count-mismatch',
      `${what} has ${actual} on hand ${where}, not the ${input.expected_on_hand} expected. Recount, then retry with the new figure.`,
      {
        item_id: input.item_id,
        warehouse_id,
        ...(input.batch !== undefined && { batch: input.batch }),
        ...(location !== undefined && { location }),
        expected: input.expected_on_hand,
        actual,
      },
    );
  }
}

/** The ACTIVE reservations ISSUE lines consume, and how much each level's check may count back. */
function claimReservations(
  state: State,
  lines: Line[],
  at: Pointer,
): { claimed: ReservationRow[]; credits: Map<string, Micro> } {
  const errors: FieldError[] = [];
  // In line order; complete once no line has an error.
  const claimed: ReservationRow[] = [];
  for (const { index, input, source } of lines) {
    if (input.reservation_id === undefined) continue;
    const r = state.reservations.get(input.reservation_id);
    if (!r)
      errors.push({
        pointer: at(index, 'reservation_id'),
        code: 'unknown_reservation',
        detail: `No reservation ${input.reservation_id} exists.`,
      });
    else if (r.item_id !== input.item_id || r.warehouse_id !== source) {
      errors.push({
        pointer: at(index, 'reservation_id'),
        code: 'reservation_mismatch',
        detail: `Reservation ${r.id} holds ${r.item_id} in ${r.warehouse_id}, not ${input.item_id} in ${source}.`,
      });
    } else claimed.push(r);
  }
  if (errors.length) throw invalid(errors);
  const closed = claimed.find((r) => r.status !== 'ACTIVE');
  if (closed) throw invalidState('Reservation', closed.id, closed.status, ['ACTIVE'], 'consumed');
  const credits = new Map<string, Micro>();
  for (const r of claimed)
    credits.set(
      keyOf(r.item_id, r.warehouse_id),
      (credits.get(keyOf(r.item_id, r.warehouse_id)) ?? 0n) + micro(r.qty),
    );
  return { claimed, credits };
}

/** 409 over-issuance unless every level the move takes from has that much available (reservations it consumes count back). */
function checkAvailability(
  state: State,
  nets: Map<string, Net>,
  credits: Map<string, Micro>,
): void {
  for (const [k, { key, change, held }] of nets) {
    const level = state.levels.get(k);
    // Unrestricted stock, less what is reserved, is what an ISSUE, TRANSFER or negative adjustment may take.
    const unrestricted = change - held.qualityControl - held.damaged;
    const available =
      (level ? level.onHand - level.reserved - level.qualityControl - level.damaged : 0n) +
      (credits.get(k) ?? 0n);
    if (-unrestricted > available)
      throw overIssuance(key.item_id, key.warehouse_id, -unrestricted, available);
    // Held stock leaves only by scrapping (ISSUE from_state), never more than is held.
    for (const [stateName, delta, have] of [
      ['quality_control', held.qualityControl, level?.qualityControl ?? 0n],
      ['damaged', held.damaged, level?.damaged ?? 0n],
    ] as const) {
      if (-delta > have)
        throw insufficientQuantity(key.item_id, key.warehouse_id, stateName, -delta, have);
    }
  }
}

/** Where each serial of the move's serial lines goes; 422 for those not where the move says they are. */
function moveSerials(
  state: State,
  lines: Line[],
  at: Pointer,
): Map<string, { item_id: string; serial: string; to: Serial }> {
  const errors: FieldError[] = [];
  const moves = new Map<string, { item_id: string; serial: string; to: Serial }>();
  for (const { index, input, source, dest, sourceState, destState } of lines) {
    (input.serials ?? []).forEach((serial, j) => {
      const now = state.serials.get(serialKey(input.item_id, serial));
      const inStock = now?.status === 'IN_STOCK';
      // A serial goes out of the state the line takes from: unrestricted, or the held one it scraps.
      const atNamed =
        input.from_location === undefined || (inStock && now.location === input.from_location);
      if (
        source === null
          ? inStock
          : !(inStock && now.warehouse_id === source && now.state === sourceState && atNamed)
      ) {
        errors.push(
          source === null
            ? {
                pointer: at(index, `serials/${j}`),
                code: 'serial_in_stock',
                detail: `Serial ${serial} of ${input.item_id} is already in stock.`,
              }
            : {
                pointer: at(index, `serials/${j}`),
                code: 'serial_not_in_stock',
                detail: !(inStock && now.warehouse_id === source)
                  ? `Serial ${serial} of ${input.item_id} is not in stock in ${source}.`
                  : now.state !== sourceState
                    ? `Serial ${serial} of ${input.item_id} is in ${source} as ${now.state}, not ${sourceState}.`
                    : `Serial ${serial} of ${input.item_id} is at ${now.location} in ${source}, not ${input.from_location}.`,
              },
        );
        return;
      }
      // Within one warehouse a serial already where the line puts it would not move (and its
      // reversal could not be posted).
      if (source === dest && now?.location === input.to_location) {
        errors.push({
          pointer: at(index, `serials/${j}`),
          code: 'same_location',
          detail: `Serial ${serial} of ${input.item_id} is at ${input.to_location} already.`,
        });
        return;
      }
      moves.set(serialKey(input.item_id, serial), {
        item_id: input.item_id,
        serial,
        to: {
          warehouse_id: dest,
          // Where the posting puts it (locatePieces), set once the line's pieces are located.
          location: null,
          status: dest === null ? 'ISSUED' : 'IN_STOCK',
          // An issued serial keeps the state it left in.
          state: dest === null ? sourceState : destState,
          exists: now?.exists ?? false,
        },
      });
    });
  }
  if (errors.length) throw invalid(errors);
  return moves;
}

function postedLine(
  moveId: string,
  lineNo: number,
  type: MoveInput['type'],
  { line, amount, batch, expires_at, first, fromLocation, toLocation, serials }: LocatedPiece,
): LineRow {
  const { input } = line;
  return {
    move_id: moveId,
    line_no: lineNo,
    item_id: input.item_id,
    qty: toNumber(type === 'ADJUSTMENT' && line.source !== null ? -amount : amount),
    batch,
    // Stored at millisecond precision, so what this returns is what a later read returns.
    expires_at: expires_at === null ? null : isoInstant(expires_at),
    serials,
    reservation_id: first ? (input.reservation_id ?? null) : null,
    expected_on_hand:
      first && input.expected_on_hand !== undefined
        ? toNumber(micro(input.expected_on_hand))
        : null,
    from_state: input.from_state ?? null,
    to_state: input.to_state ?? null,
    from_location: fromLocation,
    to_location: toLocation,
  };
}

interface BatchChange {
  item_id: string;
  warehouse_id: string;
  batch: string;
  delta: Micro;
  /** Of delta, the change of the batch's held states (a batch keeps its state). */
  held: Held;
  expires_at: string | null;
}

/** One change per batch and warehouse the pieces take from or bring to. */
function batchChanges(pieces: Piece[]): BatchChange[] {
  const changes = new Map<string, BatchChange>();
  const add = (
    item_id: string,
    warehouse_id: string,
    batch: string,
    delta: Micro,
    stockState: StockState,
    expires_at: string | null,
  ) => {
    const k = batchKey(item_id, warehouse_id, batch);
    const change = changes.get(k) ?? {
      item_id,
      warehouse_id,
      batch,
      delta: 0n,
      held: noHeld(),
      expires_at: expires_at === null ? null : isoInstant(expires_at),
    };
    change.delta += delta;
    addHeld(change.held, stockState, delta);
    changes.set(k, change);
  };
  for (const { line, amount, batch, expires_at } of pieces) {
    if (batch === null) continue;
    if (line.source !== null)
      add(line.input.item_id, line.source, batch, -amount, line.sourceState, expires_at);
    if (line.dest !== null)
      add(line.input.item_id, line.dest, batch, amount, line.destState, expires_at);
  }
  return [...changes.values()].filter(
    (c) => c.delta !== 0n || c.held.qualityControl !== 0n || c.held.damaged !== 0n,
  );
}

/** The change of one location level (batch '' for none). */
interface LocationChange {
  item_id: string;
  warehouse_id: string;
  location: string;
  batch: string;
  delta: Micro;
  held: Held;
}

const locationLevelKey = (c: Omit<LocationChange, 'delta' | 'held'>) =>
  JSON.stringify([c.item_id, c.warehouse_id, c.location, c.batch]);

/** One change per location level the located pieces take from or bring to. */
function locationChanges(pieces: LocatedPiece[]): LocationChange[] {
  const changes = new Map<string, LocationChange>();
  const add = (
    item_id: string,
    warehouse_id: string,
    location: string,
    batch: string,
    delta: Micro,
    stockState: StockState,
  ) => {
    const k = locationLevelKey({ item_id, warehouse_id, location, batch });
    const change = changes.get(k) ?? {
      item_id,
      warehouse_id,
      location,
      batch,
      delta: 0n,
      held: noHeld(),
    };
    change.delta += delta;
    addHeld(change.held, stockState, delta);
    changes.set(k, change);
  };
  for (const { line, amount, batch, fromLocation, toLocation } of pieces) {
    const { item_id } = line.input;
    if (line.source !== null)
      add(
        item_id,
        line.source,
        must(fromLocation, 'the source location of a piece'),
        batch ?? '',
        -amount,
        line.sourceState,
      );
    if (line.dest !== null)
      add(
        item_id,
        line.dest,
        must(toLocation, 'the destination location of a piece'),
        batch ?? '',
        amount,
        line.destState,
      );
  }
  return [...changes.values()].filter(
    (c) => c.delta !== 0n || c.held.qualityControl !== 0n || c.held.damaged !== 0n,
  );
}

/** 422s of the lines' locations: named where the line has that end, known there, and (to put into) active. */
function locationErrors(state: State, lines: Line[], at: Pointer): FieldError[] {
  const errors: FieldError[] = [];
  for (const { index, input, source, dest } of lines) {
    const ends = [
      ['from_location', source, 'take stock out'],
      ['to_location', dest, 'bring stock in'],
    ] as const;
    for (const [field, warehouse_id, what] of ends) {
      const code = input[field];
      if (code === undefined) continue;
      const location =
        warehouse_id === null ? undefined : state.locations.get(locationKey(warehouse_id, code));
      if (warehouse_id === null)
        errors.push({
          pointer: at(index, field),
          code: 'not_allowed',
          detail: `is allowed only on lines that ${what}.`,
        });
      else if (!location)
        errors.push({
          pointer: at(index, field),
          code: 'unknown_location',
          detail: `No location ${code} exists in ${warehouse_id}.`,
        });
      else if (field === 'to_location' && !location.active)
        errors.push({
          pointer: at(index, field),
          code: 'inactive_location',
          detail: `Location ${code} of ${warehouse_id} is inactive: it takes no stock.`,
        });
    }
    // A transfer within one warehouse (every line names to_location: moveErrors) moves stock
    // between two of its locations.
    if (source !== null && source === dest && input.from_location === input.to_location)
      errors.push({
        pointer: at(index, 'to_location'),
        code: 'same_location',
        detail: 'must differ from from_location.',
      });
  }
  return errors;
}

/**
 * For FEFO: how much of a batch a line may reach when it may take from some locations only (the
 * one it names, or, within one warehouse, all but the one it puts into), so that FEFO chooses
 * among the batches there rather than those of the whole warehouse.
 */
function reachable(state: State) {
  return (line: Line, batch: string): Micro | undefined => {
    const { item_id, from_location, to_location } = line.input;
    if (line.source === null) return undefined;
    const within = line.source === line.dest;
    if (from_location === undefined && !within) return undefined;
    return (state.locationLevels.get(keyOf(item_id, line.source)) ?? [])
      .filter(
        (l) =>
          l.batch === batch &&
          (from_location !== undefined ? l.location === from_location : l.location !== to_location),
      )
      .reduce((sum, l) => sum + inState(l, line.sourceState), 0n);
  };
}

/** What an accepted posting writes, already applied to the state so later postings of the batch see it. */
interface Plan {
  move: StockMove;
  moveRow: MoveRow;
  lines: LineRow[];
  levels: { key: StockKey; onHand: Micro; reserved: Micro; held: Held }[];
  batches: BatchChange[];
  locations: LocationChange[];
  serials: { item_id: string; serial: string; to: Serial }[];
  consumed: ReservationRow[];
  /** The move this one reverses, as loaded (its state before this posting). */
  reversal: { move: MoveRow; lines: LineRow[] } | undefined;
  /** Its events; those of the levels it changed are added once it is applied (advance). */
  events: OutboxEvent[];
  audits: AuditEntry[];
}

function plan(state: State, { actor, principal, input, options = {} }: Posting): Plan {
  const at = options.pointer ?? defaultPointer;
  const warehouseIds = [input.from_wh, input.to_wh].filter((w) => w !== undefined);
  assertWarehouses(principal, ...warehouseIds);
  const lines = resolveLines(input, state.refs, at);
  const placeErrors = locationErrors(state, lines, at);
  if (placeErrors.length) throw invalid(placeErrors);
  const nets = netChanges(lines);
  const keys = [...nets.values()].map((n) => n.key);
  checkCounts(state, lines);
  const { claimed, credits } = claimReservations(state, lines, at);
  checkAvailability(state, nets, credits);
  const serials = moveSerials(state, lines, at);
  const pieces = locatePieces(allocateBatches(lines, batchRows(state, keys), reachable(state)), {
    levels: keys.flatMap((k) => state.locationLevels.get(keyOf(k.item_id, k.warehouse_id)) ?? []),
    putAway: (item_id, warehouse_id) =>
      state.putaway.get(keyOf(item_id, warehouse_id)) ?? DEFAULT_LOCATION,
    locations: [...state.locations.values()],
    serialAt: (item_id, serial) =>
      must(
        state.serials.get(serialKey(item_id, serial))?.location,
        'location of a serial in stock',
      ),
  });
  for (const piece of pieces)
    for (const serial of piece.serials) {
      const moved = must(serials.get(serialKey(piece.line.input.item_id, serial)), 'serial moved');
      moved.to.location = piece.toLocation;
    }
  const reversal =
    options.reverses === undefined ? undefined : state.reversing.get(options.reverses);
  if (options.reverses !== undefined && reversal?.move.status !== 'POSTED') {
    throw invalidState(
      'Stock move',
      options.reverses,
      reversal?.move.status ?? 'unknown',
      ['POSTED'],
      'reversed',
    );
  }

  const id = newId('sm');
  const now = new Date().toISOString();
  const moveRow: MoveRow = {
    id,
    type: input.type,
    status: 'POSTED',
    from_wh: input.from_wh ?? null,
    to_wh: input.to_wh ?? null,
    reason: input.reason ?? null,
    reference: input.reference ?? null,
    idempotency_key: options.idempotencyKey ?? null,
    reverses: options.reverses ?? null,
    reversed_by: null,
    receipt_id: options.receiptId ?? null,
    created_by: actor.sub,
    created_at: now,
  };
  const lineRows = pieces.map((p, i) => postedLine(id, i, input.type, p));
  const move = toStockMove(moveRow, lineRows);
  const audits: AuditEntry[] = [
    { action: 'stock_move.posted', entity: 'stock_move', entityId: id, warehouseIds, after: move },
  ];
  const events = [stockMoveEvent('inventory.stock_move.posted', move, now)];
  if (reversal) {
    const { move: original, lines: originalLines } = reversal;
    const after = toStockMove({ ...original, status: 'REVERSED', reversed_by: id }, originalLines);
    audits.push({
      action: 'stock_move.reversed',
      entity: 'stock_move',
      entityId: original.id,
      warehouseIds: [original.from_wh, original.to_wh].filter((w) => w !== null),
      before: toStockMove(original, originalLines),
      after,
    });
    events.push(stockMoveEvent('inventory.stock_move.reversed', after, now));
  }
  for (const r of claimed) {
    const after = toReservation({ ...r, status: 'CONSUMED', consumed_by: id, updated_at: now });
    audits.push({
      action: 'reservation.consumed',
      entity: 'reservation',
      entityId: r.id,
      warehouseIds: [r.warehouse_id],
      before: toReservation(r),
      after,
    });
    events.push(reservationEvent('inventory.reservation.consumed', after, now));
  }
  return {
    move,
    moveRow,
    lines: lineRows,
    levels: [...nets].map(([k, { key, change, held }]) => ({
      key,
      onHand: change,
      reserved: -(credits.get(k) ?? 0n),
      held,
    })),
    batches: batchChanges(pieces),
    locations: locationChanges(pieces),
    serials: [...serials.values()],
    consumed: claimed,
    reversal,
    events,
    audits,
  };
}

/** Applies an accepted plan to the in-memory state, so the next posting of the batch sees it. */
function advance(state: State, p: Plan, incoming: IncomingChange[]): void {
  for (const { key, onHand, reserved, held } of p.levels) {
    const k = keyOf(key.item_id, key.warehouse_id);
    const level = state.levels.get(k) ?? {
      onHand: 0n,
      reserved: 0n,
      incoming: 0n,
      undatedIncoming: 0n,
      qualityControl: 0n,
      damaged: 0n,
      exists: false,
    };
    state.levels.set(k, {
      ...level,
      onHand: level.onHand + onHand,
      reserved: level.reserved + reserved,
      qualityControl: level.qualityControl + held.qualityControl,
      damaged: level.damaged + held.damaged,
    });
  }
  for (const c of incoming) {
    const level = state.levels.get(keyOf(c.item_id, c.warehouse_id));
    if (level) {
      level.incoming += c.incoming;
      level.undatedIncoming += c.undated;
    }
  }
  for (const c of p.batches) {
    const list = batchList(state, c.item_id, c.warehouse_id);
    let batch = list.find((b) => b.row.batch === c.batch);
    if (!batch) {
      batch = {
        row: {
          item_id: c.item_id,
          warehouse_id: c.warehouse_id,
          batch: c.batch,
          on_hand: 0,
          quality_control: 0,
          damaged: 0,
          expires_at: c.expires_at,
        },
        onHand: 0n,
        qualityControl: 0n,
        damaged: 0n,
        exists: false,
      };
      list.push(batch);
    }
    batch.onHand += c.delta;
    batch.qualityControl += c.held.qualityControl;
    batch.damaged += c.held.damaged;
  }
  for (const c of p.locations) {
    const k = keyOf(c.item_id, c.warehouse_id);
    const list = state.locationLevels.get(k) ?? [];
    state.locationLevels.set(k, list);
    let row = list.find((l) => l.location === c.location && l.batch === c.batch);
    if (!row) {
      // Stock is put only into locations load read: named ones, putaway targets and DEFAULT.
      const location = must(
        state.locations.get(locationKey(c.warehouse_id, c.location)),
        'a location stock was put into',
      );
      row = { ...c, on_hand: 0, quality_control: 0, damaged: 0, pick_order: location.pick_order };
      list.push(row);
    }
    row.on_hand = toNumber(micro(row.on_hand) + c.delta);
    row.quality_control = toNumber(micro(row.quality_control) + c.held.qualityControl);
    row.damaged = toNumber(micro(row.damaged) + c.held.damaged);
  }
  for (const s of p.serials) state.serials.set(serialKey(s.item_id, s.serial), s.to);
  for (const r of p.consumed)
    state.reservations.set(r.id, { ...r, status: 'CONSUMED', consumed_by: p.moveRow.id });
  if (p.reversal) {
    const reversed = p.reversal;
    state.reversing.set(reversed.move.id, {
      ...reversed,
      move: { ...reversed.move, status: 'REVERSED', reversed_by: p.moveRow.id },
    });
  }
  const at = p.moveRow.created_at;
  for (const { key } of p.levels) {
    const level = must(
      state.levels.get(keyOf(key.item_id, key.warehouse_id)),
      'level just changed',
    );
    p.events.push(
      stockLevelEvent(
        { ...key, ...levelDetails(state, key), ...level, updated_at: at },
        p.moveRow.id,
        at,
      ),
    );
  }
}

/** All accepted plans as one set of bulk writes; levels and batches summed per row. */
function writesOf(state: State, accepted: { posting: Posting; plan: Plan }[]): LedgerWrites {
  const levels = new Map<
    string,
    { key: StockKey; onHand: Micro; reserved: Micro; held: Held; updatedAt: string }
  >();
  const batches = new Map<string, BatchChange>();
  const locations = new Map<string, LocationChange & { updatedAt: string }>();
  const serials = new Map<string, { item_id: string; serial: string; to: Serial }>();
  for (const { plan: p } of accepted) {
    for (const l of p.levels) {
      const k = keyOf(l.key.item_id, l.key.warehouse_id);
      const sum = levels.get(k) ?? { key: l.key, onHand: 0n, reserved: 0n, held: noHeld() };
      levels.set(k, {
        key: l.key,
        onHand: sum.onHand + l.onHand,
        reserved: sum.reserved + l.reserved,
        held: {
          qualityControl: sum.held.qualityControl + l.held.qualityControl,
          damaged: sum.held.damaged + l.held.damaged,
        },
        updatedAt: p.moveRow.created_at,
      });
    }
    for (const b of p.batches) {
      const k = batchKey(b.item_id, b.warehouse_id, b.batch);
      const sum = batches.get(k) ?? { ...b, delta: 0n, held: noHeld() };
      batches.set(k, {
        ...sum,
        delta: sum.delta + b.delta,
        held: {
          qualityControl: sum.held.qualityControl + b.held.qualityControl,
          damaged: sum.held.damaged + b.held.damaged,
        },
      });
    }
    for (const c of p.locations) {
      const k = locationLevelKey(c);
      const sum = locations.get(k) ?? { ...c, delta: 0n, held: noHeld() };
      locations.set(k, {
        ...sum,
        delta: sum.delta + c.delta,
        held: {
          qualityControl: sum.held.qualityControl + c.held.qualityControl,
          damaged: sum.held.damaged + c.held.damaged,
        },
        updatedAt: p.moveRow.created_at,
      });
    }
    for (const s of p.serials) serials.set(serialKey(s.item_id, s.serial), s);
  }
  // advance() put every level a posting changes into the state, keeping whether it existed.
  const existedLevel = (key: StockKey) =>
    must(state.levels.get(keyOf(key.item_id, key.warehouse_id)), 'level of a posting').exists;
  const existedBatch = (b: { item_id: string; warehouse_id: string; batch: string }) =>
    (state.batches.get(keyOf(b.item_id, b.warehouse_id)) ?? []).some(
      (x) => x.row.batch === b.batch && x.exists,
    );
  return {
    moves: accepted.map(({ plan: p }) => p.moveRow),
    lines: accepted.flatMap(({ plan: p }) => p.lines),
    // A level or batch the postings created is inserted even when they emptied it again (a
    // transfer in, then an issue out, batched together): their events show it, so it must exist,
    // as it would had each posting committed alone.
    levels: [...levels.values()]
      .filter(
        (l) =>
          l.onHand !== 0n ||
          l.reserved !== 0n ||
          l.held.qualityControl !== 0n ||
          l.held.damaged !== 0n ||
          !existedLevel(l.key),
      )
      .map(({ key, onHand, reserved, held, updatedAt }) => ({
        ...key,
        on_hand: decimal(onHand),
        reserved: decimal(reserved),
        quality_control: decimal(held.qualityControl),
        damaged: decimal(held.damaged),
        exists: existedLevel(key),
        updated_at: updatedAt,
      })),
    batches: [...batches.values()]
      .filter(
        (b) =>
          b.delta !== 0n ||
          b.held.qualityControl !== 0n ||
          b.held.damaged !== 0n ||
          !existedBatch(b),
      )
      .map(({ delta, held, ...b }) => ({
        ...b,
        on_hand: decimal(delta),
        quality_control: decimal(held.qualityControl),
        damaged: decimal(held.damaged),
        exists: existedBatch(b),
      })),
    locations: [...locations.values()].map(({ delta, held, updatedAt, ...c }) => ({
      ...c,
      on_hand: decimal(delta),
      quality_control: decimal(held.qualityControl),
      damaged: decimal(held.damaged),
      updated_at: updatedAt,
    })),
    serials: [...serials.values()].map(({ item_id, serial, to }) => ({
      item_id,
      serial,
      warehouse_id: to.warehouse_id,
      location: to.location,
      status: to.status,
      state: to.state,
      exists: to.exists,
    })),
    consumed: accepted.flatMap(({ plan: p }) =>
      p.consumed.map((r) => ({
        id: r.id,
        consumed_by: p.moveRow.id,
        updated_at: p.moveRow.created_at,
      })),
    ),
    reversed: accepted.flatMap(({ plan: p }) =>
      p.reversal ? [{ id: p.reversal.move.id, reversed_by: p.moveRow.id }] : [],
    ),
    events: [...state.expired, ...accepted.flatMap(({ plan: p }) => p.events)],
    audits: accepted.flatMap(({ posting, plan: p }) =>
      p.audits.map((entry) => ({ actor: posting.actor, entry })),
    ),
  };
}

/**
 * The ledger within one transaction: the rows its postings need, loaded (and locked) at once, then
 * postings planned against them one after another, each seeing the ones before it, then all their
 * writes sent at once. A refused posting changes nothing. Three steps, with a round trip for the
 * first and the last: `Ledger.load`, `post` per posting, `write`.
 */
export class Ledger {
  private readonly accepted: { posting: Posting; plan: Plan }[] = [];

  private constructor(private readonly state: State) {}

  /** Reads and locks what these postings need, in one round trip. */
  static async load(db: Db, postings: Posting[]): Promise<Ledger> {
    return new Ledger(await load(db, postings));
  }

  /** Plans one posting against the state; throws the ProblemError (403/409/422) that refuses it. */
  post(posting: Posting): StockMove {
    const p = plan(this.state, posting);
    advance(this.state, p, posting.options?.incoming ?? []);
    this.accepted.push({ posting, plan: p });
    return p.move;
  }

  /**
   * Sends the writes of every posting accepted (before returning); settles when they are done.
   * The events go last, unless `deferEvents`: a caller with writes of its own after the ledger's
   * sends them itself (`events`), after its own.
   */
  write(db: Db, { deferEvents = false } = {}): Promise<void> {
    if (!this.accepted.length && (deferEvents || !this.state.expired.length))
      return Promise.resolve();
    const writes = writesOf(this.state, this.accepted);
    return writeLedger(db, deferEvents ? { ...writes, events: [] } : writes);
  }

  /** The items the postings name, as load read them (units included). */
  get items(): References['items'] {
    return this.state.refs.items;
  }

  /** Every event of the ledger's transaction so far, in order. */
  get events(): OutboxEvent[] {
    return writesOf(this.state, this.accepted).events;
  }
}

/**
 * The move that undoes `move`: the same lines, batches and serials the other way round
 * (warehouses swapped, adjustment quantities negated). Only lines that bring stock back in keep
 * their batch's expiry; reservations consumed and counts expected stay with the original.
 */
export function reversalOf(move: MoveRow, lines: LineRow[], reason: string | undefined): MoveInput {
  const type = move.type === 'ISSUE' ? 'RECEIPT' : move.type === 'RECEIPT' ? 'ISSUE' : move.type;
  const bringsIn = (qty: number) => type === 'RECEIPT' || (type === 'ADJUSTMENT' && qty > 0);
  return {
    type,
    ...(move.type === 'ADJUSTMENT'
      ? { to_wh: must(move.to_wh, 'to_wh of an ADJUSTMENT (CHECK stock_moves_warehouses)') }
      : { from_wh: move.to_wh ?? undefined, to_wh: move.from_wh ?? undefined }),
    reason: reason ?? `Reversal of ${move.id}`,
    ...(move.reference !== null && { reference: move.reference }),
    lines: lines.map((l) => {
      const qty = move.type === 'ADJUSTMENT' ? -l.qty : l.qty;
      return {
        item_id: l.item_id,
        qty,
        ...(l.batch !== null && { batch: l.batch }),
        ...(l.expires_at !== null && bringsIn(qty) && { expires_at: l.expires_at }),
        ...(l.serials.length > 0 && { serials: l.serials }),
        // Held stock goes back where it came from: a receipt into quality control is undone out of it.
        ...(l.to_state !== null && { from_state: l.to_state }),
        ...(l.from_state !== null && { to_state: l.from_state }),
        // And from where it went to where it came from.
        ...(l.to_location !== null && { from_location: l.to_location }),
        ...(l.from_location !== null && { to_location: l.from_location }),
      };
    }),
  };
}

/** Posts one move on `db`: load, plan, write. */
export async function postStockMove(
  db: Db,
  actor: Actor,
  principal: Principal,
  input: MoveInput,
  options: PostOptions = {},
): Promise<StockMove> {
  const posting = { actor, principal, input, options };
  const ledger = await Ledger.load(db, [posting]);
  const move = ledger.post(posting);
  await ledger.write(db);
  return move;
}
