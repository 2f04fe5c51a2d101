import { allInOrder } from '../db/client.ts';
import { findMove, linesOf, listMoves, type LineRow, type MoveRow } from '../db/stock-moves.ts';
import { vendorReturnOfMove } from '../db/vendor-returns.ts';
import { keysetKey, NEWEST_FIRST } from '../db/keyset.ts';
import { ProblemError, invalidField, invalidState, notFound } from '../domain/problems.ts';
import { assertVisible, assertWarehouses } from '../domain/access.ts';
import { Ledger, postStockMove, reversalOf, type Posting } from './lib/ledger.ts';
import { assertInstant, listOrder, scopedPage } from './lib/listing.ts';
import { toStockMove } from './lib/representation.ts';
import type { Batched, Context, Handlers } from './types.ts';

const location = (id: string) => `/inventory/stock-moves/${encodeURIComponent(id)}`;

/** The warehouses a move touches: it is visible to a token that sees one of them (docs/standards.md §3). */
const touchedBy = (move: MoveRow) => [move.from_wh, move.to_wh].filter((w) => w !== null);

/** The ledger's posting of a POST /inventory/stock-moves request. */
function postingOf({
  actor,
  principal,
  body,
  idempotencyKey,
}: Context<'createStockMove'>): Posting {
  return { actor, principal, input: body, options: { idempotencyKey } };
}

/**
 * POST /inventory/stock-moves, group-committed: a batch of requests is posted in order on one
 * transaction, each refused one answered by its own problem.
 */
const createStockMove: Batched<'createStockMove', Ledger> = {
  load: (db, contexts) => Ledger.load(db, contexts.map(postingOf)),
  run(ledger, ctx) {
    const move = ledger.post(postingOf(ctx));
    return { status: 201, body: move, location: location(move.id) };
  },
  write: (db, ledger) => ledger.write(db),
};

export const stockMoveHandlers = {
  createStockMove,

  async getStockMove({ db, params, principal }) {
    const move = await findMove(db, params.id);
    if (!move) throw notFound('stock move', params.id);
    assertVisible(principal, touchedBy(move));
    return { status: 200, body: toStockMove(move, await linesOf(db, [move.id])) };
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
    for (const line of await linesOf(
      db,
      rows.map((m) => m.id),
    ))
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
