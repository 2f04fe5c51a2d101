// Which batches a move's lines take and bring. Lines naming a batch use it; a BATCH-item line
// that takes stock without naming one picks first-expiry-first-out (FEFO) from the batches on hand
// before the move, and is posted as one line per batch taken. Runs on batch levels read under the
// lock of their stock level, so the picture cannot change underneath. A batch keeps its state: each
// line takes from the state it names (unrestricted, unless it scraps held stock) and FEFO picks
// only that state's quantity of each batch.
import type { BatchRow, StockState } from '../../db/stock.ts';
import { must } from '../../domain/must.ts';
import { ProblemError } from '../../domain/problems.ts';
import type { Line } from './move-rules.ts';
import { micro, toNumber, type Micro } from './quantity.ts';

/** What is posted for a line: itself, or for a FEFO pick one piece per batch (the first keeps the line's extras). */
export interface Piece {
  line: Line;
  amount: Micro;
  batch: string | null;
  expires_at: string | null;
  first: boolean;
}

export function overIssuance(
  item_id: string,
  warehouse_id: string,
  requested: Micro,
  available: Micro,
  batch?: string,
): ProblemError {
  const where = batch === undefined ? warehouse_id : `${warehouse_id} (batch ${batch})`;
  return new ProblemError(
    'over-issuance',
    `Only ${toNumber(available)} of ${item_id} available in ${where}; ${toNumber(requested)} requested.`,
    {
      item_id,
      warehouse_id,
      ...(batch !== undefined && { batch }),
      requested: toNumber(requested),
      available: toNumber(available),
    },
  );
}

/** 409 insufficient-quantity: less of the item (or batch) in `state` than a status change or scrap takes. */
export function insufficientQuantity(
  item_id: string,
  warehouse_id: string,
  state: StockState,
  requested: Micro,
  available: Micro,
  batch?: string,
): ProblemError {
  const where = batch === undefined ? warehouse_id : `${warehouse_id} (batch ${batch})`;
  return new ProblemError(
    'insufficient-quantity',
    `Only ${toNumber(available)} of ${item_id} in ${state} in ${where}; ${toNumber(requested)} requested.`,
    {
      item_id,
      warehouse_id,
      ...(batch !== undefined && { batch }),
      state,
      requested: toNumber(requested),
      available: toNumber(available),
    },
  );
}

/** A batch's or location level's quantity in one state; unrestricted is what is not held. */
export function inState(
  row: Pick<BatchRow, 'on_hand' | 'quality_control' | 'damaged'>,
  state: StockState,
): Micro {
  const held = { quality_control: micro(row.quality_control), damaged: micro(row.damaged) };
  return state === 'unrestricted'
    ? micro(row.on_hand) - held.quality_control - held.damaged
    : held[state];
}

/** First expiry, first out: earliest expiry first, batches without one last, then by name. */
export function fefoOrder(
  a: Pick<BatchRow, 'expires_at' | 'batch'>,
  b: Pick<BatchRow, 'expires_at' | 'batch'>,
): number {
  const expiry = (a.expires_at ?? '\uffff').localeCompare(b.expires_at ?? '\uffff');
  return expiry || (a.batch < b.batch ? -1 : a.batch > b.batch ? 1 : 0);
}

export const batchKey = (item: string, warehouse: string, batch: string) =>
  JSON.stringify([item, warehouse, batch]);

const STATES: StockState[] = ['unrestricted', 'quality_control', 'damaged'];

/** A batch's stock in one state. */
interface BatchStock {
  row?: BatchRow;
  item_id: string;
  warehouse_id: string;
  batch: string;
  state: StockState;
  onHand: Micro;
  in: Micro;
  out: Micro;
}

/** A batch that was on hand before the move: it has its row. */
type OnHand = BatchStock & { row: BatchRow };

class BatchBook {
  private readonly stock = new Map<string, BatchStock>();

  constructor(rows: BatchRow[]) {
    for (const row of rows)
      for (const state of STATES)
        this.stock.set(JSON.stringify([row.item_id, row.warehouse_id, row.batch, state]), {
          row,
          item_id: row.item_id,
          warehouse_id: row.warehouse_id,
          batch: row.batch,
          state,
          onHand: inState(row, state),
          in: 0n,
          out: 0n,
        });
  }

  entry(item_id: string, warehouse_id: string, batch: string, state: StockState): BatchStock {
    const key = JSON.stringify([item_id, warehouse_id, batch, state]);
    let entry = this.stock.get(key);
    if (!entry) {
      entry = { item_id, warehouse_id, batch, state, onHand: 0n, in: 0n, out: 0n };
      this.stock.set(key, entry);
    }
    return entry;
  }

  /** Batches on hand in `state` before the move at (item, warehouse), in FEFO order. */
  onHandAt(item_id: string, warehouse_id: string, state: StockState): OnHand[] {
    return [...this.stock.values()]
      .filter(
        (e): e is OnHand =>
          e.row !== undefined &&
          e.item_id === item_id &&
          e.warehouse_id === warehouse_id &&
          e.state === state,
      )
      .sort((a, b) => fefoOrder(a.row, b.row));
  }

  overdrawn(): BatchStock | undefined {
    return [...this.stock.values()].find((e) => e.out > e.onHand + e.in);
  }
}

/** The pieces to post, in line order; 409 over-issuance when a batch would go below zero. */
export function allocateBatches(
  lines: Line[],
  rows: BatchRow[],
  /**
   * How much of a batch a FEFO line may take at most, when it may take from some locations only
   * (the one it names, or all but its destination); undefined: the whole batch.
   */
  reachable: (line: Line, batch: string) => Micro | undefined = () => undefined,
): Piece[] {
  const book = new BatchBook(rows);
  const picked = new Map<number, Piece[]>();
  const fefo = lines.filter((l) => l.trackBy === 'BATCH' && l.input.batch === undefined);

  for (const line of lines.filter((l) => !fefo.includes(l))) {
    const { item_id, batch } = line.input;
    let expires_at = line.input.expires_at ?? null;
    if (batch !== undefined && line.source !== null) {
      const from = book.entry(item_id, line.source, batch, line.sourceState);
      from.out += line.amount;
      expires_at = from.row?.expires_at ?? null;
    }
    if (batch !== undefined && line.dest !== null)
      book.entry(item_id, line.dest, batch, line.destState).in += line.amount;
    picked.set(line.index, [
      { line, amount: line.amount, batch: batch ?? null, expires_at, first: true },
    ]);
  }
  const short = book.overdrawn();
  if (short)
    throw short.state === 'unrestricted'
      ? overIssuance(
          short.item_id,
          short.warehouse_id,
          short.out,
          short.onHand + short.in,
          short.batch,
        )
      : insufficientQuantity(
          short.item_id,
          short.warehouse_id,
          short.state,
          short.out,
          short.onHand + short.in,
          short.batch,
        );

  for (const line of fefo) {
    const { item_id } = line.input;
    // Validation requires the batch on a BATCH line that brings stock in, so this one takes.
    const source = must(line.source, 'source of a batch line that names no batch');
    const pieces: Piece[] = [];
    let wanted = line.amount;
    for (const from of book.onHandAt(item_id, source, line.sourceState)) {
      const inBatch = from.onHand + from.in - from.out;
      const cap = reachable(line, from.batch);
      const left = cap !== undefined && cap < inBatch ? cap : inBatch;
      // biome-ignore lint/complexity/useMathMinMax: bigints, which Math.min throws on
      const take = wanted < left ? wanted : left;
      if (take <= 0n) continue;
      from.out += take;
      wanted -= take;
      if (line.dest !== null) book.entry(item_id, line.dest, from.batch, line.destState).in += take;
      pieces.push({
        line,
        amount: take,
        batch: from.batch,
        expires_at: from.row.expires_at,
        first: pieces.length === 0,
      });
      if (wanted === 0n) break;
    }
    // The level check passed, so only batch levels out of step with their level end up here.
    if (wanted > 0n)
      throw line.sourceState === 'unrestricted'
        ? overIssuance(item_id, source, line.amount, line.amount - wanted)
        : insufficientQuantity(
            item_id,
            source,
            line.sourceState,
            line.amount,
            line.amount - wanted,
          );
    picked.set(line.index, pieces);
  }
  return lines.flatMap((l) => must(picked.get(l.index), 'pieces of a line (every line is picked)'));
}
