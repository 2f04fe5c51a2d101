import { allInOrder } from '../db/client.ts';
import {
  findMove,
  linesOf,
  listMoves,
  storeLineUnits,
  lineUnitsOf,
  type LineRow,
  type MoveLineUnits,
  type MoveRow,
} from '../db/stock-moves.ts';
import { vendorReturnOfMove } from '../db/vendor-returns.ts';
import { keysetKey, NEWEST_FIRST } from '../db/keyset.ts';
import { ProblemError, invalid, invalidField, invalidState, notFound } from '../domain/problems.ts';
import { assertVisible, assertWarehouses } from '../domain/access.ts';
import {
  Ledger,
  postStockMove,
  reversalOf,
  type MoveLineInput,
  type Posting,
} from './lib/ledger.ts';
import { resolveLineUnits, type InStockUnits } from './lib/line-units.ts';
import { micro } from './lib/quantity.ts';
import type { StockMove } from './lib/representation.ts';
import { assertInstant, listOrder, scopedPage } from './lib/listing.ts';
import { toStockMove } from './lib/representation.ts';
import type { Batched, Context, Handlers } from './types.ts';

const location = (id: string) => `/inventory/stock-moves/${encodeURIComponent(id)}`;

/** The warehouses a move touches: it is visible to a token that sees one of them (docs/standards.md §3). */
const touchedBy = (move: MoveRow) => [move.from_wh, move.to_wh].filter((w) => w !== null);

/** The ledger's posting of a POST /inventory/stock-moves request, its lines in stock units. */
function postingOf(
  { actor, principal, body, idempotencyKey }: Context<'createStockMove'>,
  lines: MoveLineInput[],
): Posting {
  return { actor, principal, input: { ...body, lines }, options: { idempotencyKey } };
}

/**
 * The lines as the ledger's load needs them, before their units are converted: it reads only
 * which levels they touch, for which a quantity's sign is enough, and a `uom_qty` has the sign
 * its quantity in stock units will have.
 */
const provisionalLines = (ctx: Context<'createStockMove'>): MoveLineInput[] =>
  ctx.body.lines.map(({ uom: _, uom_qty, qty, ...line }) => ({
    ...line,
    qty: qty ?? uom_qty ?? 0,
  }));

interface MoveBatch {
  ledger: Ledger;
  /** Lines given in a unit, to store next to the ledger's lines. */
  echoes: MoveLineUnits[];
}

/**
 * The move as answered, each line given in a unit echoing it: only where the ledger posted the
 * line as one line (a line FEFO splits across batches shows its pieces in stock units only). The
 * ledger posts a request line's pieces in its order, consecutively.
 */
function echoed(
  move: StockMove,
  lines: InStockUnits<MoveLineInput, 'qty'>[],
): { move: StockMove; echoes: MoveLineUnits[] } {
  if (!lines.some((l) => l.given)) return { move, echoes: [] };
  const abs = (m: bigint) => (m < 0n ? -m : m);
  const shown = [...move.lines];
  const echoes: MoveLineUnits[] = [];
  let p = 0;
  for (const line of lines) {
    const want = abs(micro(line.qty));
    const start = p;
    let got = 0n;
    while (p < shown.length && got < want) got += abs(micro(shown[p++].qty));
    if (line.given && p - start === 1) {
      shown[start] = { ...shown[start], uom: line.given.uom, uom_qty: line.given.uom_qty };
      echoes.push({ move_id: move.id, line_no: start, ...line.given });
    }
  }
  return { move: { ...move, lines: shown }, echoes };
}

/** Lines with the unit they were given in, where they were. */
function withUnits(lines: LineRow[], units: Map<string, MoveLineUnits>): LineRow[] {
  if (!units.size) return lines;
  return lines.map((l) => {
    const u = units.get(`${l.move_id}/${l.line_no}`);
    return u ? { ...l, uom: u.uom, uom_qty: u.uom_qty } : l;
  });
}

/**
 * POST /inventory/stock-moves, group-committed: a batch of requests is posted in order on one
 * transaction, each refused one answered by its own problem. Lines given in a unit of their item
 * are converted to stock units first (handlers/lib/line-units.ts): the ledger sees stock units only.
 */
const createStockMove: Batched<'createStockMove', MoveBatch> = {
  async load(db, contexts) {
    const postings = contexts.map((c) => postingOf(c, provisionalLines(c)));
    return { ledger: await Ledger.load(db, postings), echoes: [] };
  },
  run(batch, ctx) {
    // The ledger's load read the items the lines name, with their units.
    const { lines, errors } = resolveLineUnits(ctx.body.lines, 'qty', (l) =>
      batch.ledger.items.get(l.item_id),
    );
    if (errors.length) throw invalid(errors);
    const posted = batch.ledger.post(
      postingOf(
        ctx,
        lines.map(({ given: _, ...line }) => line),
      ),
    );
    const { move, echoes } = echoed(posted, lines);
    batch.echoes.push(...echoes);
    return { status: 201, body: move, location: location(move.id) };
  },
  async write(db, batch) {
    await allInOrder([batch.ledger.write(db), storeLineUnits(db, batch.echoes)]);
  },
};

export const stockMoveHandlers = {
  createStockMove,

  async getStockMove({ db, params, principal }) {
    const move = await findMove(db, params.id);
    if (!move) throw notFound('stock move', params.id);
    assertVisible(principal, touchedBy(move));
    const [lines, units] = await allInOrder([linesOf(db, [move.id]), lineUnitsOf(db, [move.id])]);
    return { status: 200, body: toStockMove(move, withUnits(lines, units)) };
  },

  async listStockMoves({ db, query, principal, page }) {
    assertInstant('#/query/created_after', query.created_after);
    assertInstant('#/query/created_before', query.created_before);
    if (
      query.created_after !== undefined &&
      query.created_before !== undefined &&
      Date.parse(query.created_before) <= Date.parse(query.created_after)
    )
      throw invalidField(
        '#/query/created_before',
        'empty_range',
        'created_before must be later than created_after: the window [created_after, created_before) is empty.',
      );
    const keyset = listOrder(NEWEST_FIRST, { order: query.order });
    const rows = await listMoves(db, {
      type: query.type,
      item_id: query.item_id,
      warehouse_id: query.warehouse_id,
      created_after: query.created_after,
      created_before: query.created_before,
      batch: query.batch,
      serial: query.serial,
      reference: query.reference,
      keyset,
      ...scopedPage<unknown[]>(principal, page, query.warehouse_id),
    });
    const lines = new Map<string, LineRow[]>();
    const ids = rows.map((m) => m.id);
    const [lineRows, units] = await allInOrder([linesOf(db, ids), lineUnitsOf(db, ids)]);
    for (const line of withUnits(lineRows, units))
      lines.set(line.move_id, [...(lines.get(line.move_id) ?? []), line]);
    return {
      status: 200,
      body: page.result(
        rows.map((m) => toStockMove(m, lines.get(m.id) ?? [])),
        keysetKey(keyset),
      ),
    };
  },

  async reverseStockMove({ db, params, body, principal, actor, idempotencyKey }) {
    // Locked, so two reversals of the same move queue and the second finds it REVERSED.
    const [move, vendorReturnId] = await allInOrder([
      findMove(db, params.id, { lock: true }),
      vendorReturnOfMove(db, params.id),
    ]);
    if (!move) throw notFound('stock move', params.id);
    assertWarehouses(principal, move.from_wh, move.to_wh);
    if (move.reverses !== null) {
      throw new ProblemError(
        'invalid-state',
        `Stock move ${move.id} is itself the reversal of ${move.reverses}; post a new move instead.`,
        { current_status: move.status },
      );
    }
    if (move.status !== 'POSTED')
      throw invalidState('Stock move', move.id, move.status, ['POSTED'], 'reversed');
    if (move.receipt_id !== null) {
      throw new ProblemError(
        'invalid-state',
        `Stock move ${move.id} was posted by receipt ${move.receipt_id}; reverse the receipt instead (POST /procurement/receipts/${move.receipt_id}/reverse), which takes its quantities off the purchase order too.`,
        { current_status: move.status },
      );
    }
    if (vendorReturnId !== null) {
      throw new ProblemError(
        'invalid-state',
        `Stock move ${move.id} was posted by vendor return ${vendorReturnId}; the goods went back to the vendor with it, and a return is not undone by reversing its stock move.`,
        { current_status: move.status },
      );
    }
    const reversal = await postStockMove(
      db,
      actor,
      principal,
      reversalOf(move, await linesOf(db, [move.id]), body?.reason),
      { idempotencyKey, reverses: move.id },
    );
    return { status: 201, body: reversal, location: location(reversal.id) };
  },
} satisfies Pick<
  Handlers,
  'createStockMove' | 'getStockMove' | 'listStockMoves' | 'reverseStockMove'
>;
