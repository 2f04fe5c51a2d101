// Where in a warehouse a move's lines take and put their stock. Runs after FEFO has chosen the
// batches (batches.ts), on location levels read under the lock of their stock level:
//
//   take  a line naming `from_location` takes from it; a serial line takes each serial where it
//         is; any other line picks: the locations holding the batch (and state) in `pick_order`,
//         then code, skipping the line's own destination, as many as it takes.
//   put   a line naming `to_location` puts there; else the warehouse's putaway rule for the item
//         (unless its location is inactive), else DEFAULT.
//
// Each (location, batch) taken becomes a posted line of its own, as FEFO splits lines by batch.
import type { LocationLevelRow, StockState } from '../../db/stock.ts';
import { ProblemError } from '../../domain/problems.ts';
import { inState, type Piece } from './batches.ts';
import { micro, toNumber, type Micro } from './quantity.ts';

export const DEFAULT_LOCATION = 'DEFAULT';

/** A piece of a line at its locations: what is posted as one line. */
export interface LocatedPiece extends Piece {
  fromLocation: string | null;
  toLocation: string | null;
  /** The serials of this piece (a serial line splits by the serials' locations). */
  serials: string[];
}

/** Stock of one (item, warehouse, location, batch) in one state, as the move changes it. */
interface Slot {
  item_id: string;
  warehouse_id: string;
  location: string;
  batch: string;
  state: StockState;
  pickOrder: number;
  onHand: Micro;
  in: Micro;
  out: Micro;
}

const STATES: StockState[] = ['unrestricted', 'quality_control', 'damaged'];

const slotKey = (
  item_id: string,
  warehouse_id: string,
  location: string,
  batch: string,
  state: StockState,
) => JSON.stringify([item_id, warehouse_id, location, batch, state]);

type Stock = Pick<Slot, 'item_id' | 'warehouse_id' | 'batch' | 'state'>;

/**
 * 409 over-issuance (insufficient-quantity for held stock) at a location: the warehouse has enough,
 * the location has not; or, `location` null, the locations a pick may take from (all but `skip`).
 */
function shortAt(
  { item_id, warehouse_id, batch, state }: Stock,
  location: string | null,
  skip: string | null,
  requested: Micro,
  available: Micro,
  statusChange: boolean,
): ProblemError {
  const where =
    location !== null ? `at ${location}` : skip !== null ? `outside ${skip}` : 'at its locations';
  const what = state === 'unrestricted' ? 'available' : `in ${state}`;
  return new ProblemError(
    state === 'unrestricted' && !statusChange ? 'over-issuance' : 'insufficient-quantity',
    `Only ${toNumber(available)} of ${item_id}${batch === '' ? '' : ` (batch ${batch})`} ${what} ${where} in ${warehouse_id}; ${toNumber(requested)} requested.`,
    {
      item_id,
      warehouse_id,
      ...(location !== null && { location }),
      ...(batch !== '' && { batch }),
      ...((state !== 'unrestricted' || statusChange) && { state }),
      requested: toNumber(requested),
      available: toNumber(available),
    },
  );
}

/** Where the stock of a piece's line is, and where its serials are. */
export interface Whereabouts {
  /** Location levels with stock at the keys the move touches. */
  levels: LocationLevelRow[];
  /** Where the line's dest puts stock when the line names no location. */
  putAway: (item_id: string, warehouse_id: string) => string;
  /** The location of a serial in stock (the caller has checked it is in the line's source). */
  serialAt: (item_id: string, serial: string) => string;
  /** The locations stock may be put into, with their pick order. */
  locations: { warehouse_id: string; code: string; pick_order: number }[];
}

export class LocationBook {
  private readonly slots = new Map<string, Slot>();

  /**
   * `statusChange`: the book of a status change, which answers insufficient-quantity for every
   * state (a move answers over-issuance for unrestricted stock).
   */
  /** By (warehouse, location): its pick order, for slots made by what a posting puts there. */
  private readonly pickOrders = new Map<string, number>();

  constructor(
    rows: LocationLevelRow[],
    private readonly statusChange = false,
    pickOrders: { warehouse_id: string; code: string; pick_order: number }[] = [],
  ) {
    for (const l of pickOrders)
      this.pickOrders.set(JSON.stringify([l.warehouse_id, l.code]), l.pick_order);
    for (const row of rows)
      this.pickOrders.set(JSON.stringify([row.warehouse_id, row.location]), row.pick_order);
    for (const row of rows)
      for (const state of STATES) {
        const onHand = inState(row, state);
        if (onHand > 0n)
          this.slots.set(slotKey(row.item_id, row.warehouse_id, row.location, row.batch, state), {
            item_id: row.item_id,
            warehouse_id: row.warehouse_id,
            location: row.location,
            batch: row.batch,
            state,
            pickOrder: row.pick_order,
            onHand,
            in: 0n,
            out: 0n,
          });
      }
  }

  private slot(
    item_id: string,
    warehouse_id: string,
    location: string,
    batch: string,
    state: StockState,
  ): Slot {
    const key = slotKey(item_id, warehouse_id, location, batch, state);
    let slot = this.slots.get(key);
    if (!slot) {
      slot = {
        item_id,
        warehouse_id,
        location,
        batch,
        state,
        pickOrder: this.pickOrders.get(JSON.stringify([warehouse_id, location])) ?? 0,
        onHand: 0n,
        in: 0n,
        out: 0n,
      };
      this.slots.set(key, slot);
    }
    return slot;
  }

  take(
    item_id: string,
    warehouse_id: string,
    location: string,
    batch: string,
    state: StockState,
    amount: Micro,
  ): void {
    const slot = this.slot(item_id, warehouse_id, location, batch, state);
    const left = slot.onHand + slot.in - slot.out;
    if (amount > left) throw shortAt(slot, location, null, amount, left, this.statusChange);
    slot.out += amount;
  }

  put(
    item_id: string,
    warehouse_id: string,
    location: string,
    batch: string,
    state: StockState,
    amount: Micro,
  ): void {
    this.slot(item_id, warehouse_id, location, batch, state).in += amount;
  }

  /**
   * Picks `amount` in pick order, then code, skipping `skip`: what each location gives; or, when
   * they have less between them, how much they have (and nothing is taken).
   */
  pick(
    item_id: string,
    warehouse_id: string,
    batch: string,
    state: StockState,
    amount: Micro,
    skip: string | null,
  ): { taken: { location: string; amount: Micro }[] } | { available: Micro } {
    const candidates = [...this.slots.values()]
      .filter(
        (s) =>
          s.item_id === item_id &&
          s.warehouse_id === warehouse_id &&
          s.batch === batch &&
          s.state === state &&
          s.location !== skip &&
          s.onHand + s.in - s.out > 0n,
      )
      .sort((a, b) => a.pickOrder - b.pickOrder || byCode(a.location, b.location));
    const available = candidates.reduce((sum, s) => sum + s.onHand + s.in - s.out, 0n);
    if (available < amount) return { available };
    const taken: { location: string; amount: Micro }[] = [];
    let wanted = amount;
    for (const slot of candidates) {
      if (wanted === 0n) break;
      const left = slot.onHand + slot.in - slot.out;
      // biome-ignore lint/complexity/useMathMinMax: bigints, which Math.min throws on
      const take = wanted < left ? wanted : left;
      slot.out += take;
      wanted -= take;
      taken.push({ location: slot.location, amount: take });
    }
    return { taken };
  }

  /**
   * Takes `amount` of `stock`: serials from where each is, else from the location named, else
   * picked (skipping `skip`). What each location gave; 409 when it falls short.
   */
  takeStock(
    stock: Stock,
    amount: Micro,
    {
      from,
      serials,
      serialAt,
      skip = null,
    }: {
      from: string | undefined;
      serials: string[];
      serialAt: (item_id: string, serial: string) => string;
      skip?: string | null;
    },
  ): { location: string; amount: Micro; serials: string[] }[] {
    const { item_id, warehouse_id, batch, state } = stock;
    if (serials.length > 0) {
      // Serial items have no batches: a serial line splits by where each of its serials is.
      const byLocation = new Map<string, string[]>();
      for (const serial of serials) {
        const at = serialAt(item_id, serial);
        byLocation.set(at, [...(byLocation.get(at) ?? []), serial]);
      }
      return [...byLocation]
        .sort(([a], [b]) => byCode(a, b))
        .map(([location, here]) => {
          this.take(item_id, warehouse_id, location, batch, state, micro(here.length));
          return { location, amount: micro(here.length), serials: here };
        });
    }
    if (from !== undefined) {
      this.take(item_id, warehouse_id, from, batch, state, amount);
      return [{ location: from, amount, serials: [] }];
    }
    const picked = this.pick(item_id, warehouse_id, batch, state, amount, skip);
    if ('available' in picked)
      throw shortAt(stock, null, skip, amount, picked.available, this.statusChange);
    return picked.taken.map((p) => ({ ...p, serials: [] }));
  }
}

const byCode = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The pieces at their locations, in order; 409 over-issuance / insufficient-quantity when a
 * location named (or every location together, skipping the destination) has less than a piece
 * takes.
 */
export function locatePieces(pieces: Piece[], where: Whereabouts): LocatedPiece[] {
  const book = new LocationBook(where.levels, false, where.locations);
  return pieces.flatMap((piece): LocatedPiece[] => {
    const { line, amount } = piece;
    const { item_id, from_location, to_location } = line.input;
    const batch = piece.batch ?? '';
    const dest = line.dest === null ? null : (to_location ?? where.putAway(item_id, line.dest));
    const located =
      line.source === null
        ? [{ location: null, amount, serials: line.input.serials ?? [] }]
        : book.takeStock(
            { item_id, warehouse_id: line.source, batch, state: line.sourceState },
            amount,
            {
              from: from_location,
              serials: line.input.serials ?? [],
              serialAt: where.serialAt,
              skip: line.source === line.dest ? dest : null,
            },
          );
    return located.map((l, i) => {
      if (dest !== null && line.dest !== null)
        book.put(item_id, line.dest, dest, batch, line.destState, l.amount);
      return {
        ...piece,
        amount: l.amount,
        first: piece.first && i === 0,
        fromLocation: l.location,
        toLocation: dest,
        serials: l.serials,
      };
    });
  });
}
