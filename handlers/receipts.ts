import {
  findPurchaseOrderWithLines,
  purchaseOrderLines,
  shipToOf,
  type PurchaseOrderLineRow,
  type PurchaseOrderRow,
} from '../db/purchase-orders.ts';
import {
  findReceipt,
  insertReceipt,
  listReceipts,
  receiptLines,
  replaceReceiptLines,
  updateReceipt,
  type ReceiptLine,
  type ReceiptRow,
} from '../db/receipts.ts';
import { insertEvents, type OutboxEvent } from '../db/outbox.ts';
import { findMove, linesOf } from '../db/stock-moves.ts';
import { allInOrder, type Db } from '../db/client.ts';
import { newId } from '../db/ids.ts';
import { keysetKey, NEWEST_FIRST } from '../db/keyset.ts';
import type { components } from '../generated/api.ts';
import { assertVisible, assertWarehouses, canSee, type Principal } from '../domain/access.ts';
import { must } from '../domain/must.ts';
import { invalid, invalidField, invalidState, notFound, ProblemError } from '../domain/problems.ts';
import { resolveLineUnits } from './lib/line-units.ts';
import { assertChangeable, groupBy, present, withEtag } from './lib/documents.ts';
import { matchReports } from './lib/match.ts';
import {
  loadOrderReferences,
  presentPurchaseOrder,
  resolveOrderLines,
  type OrderReferences,
} from './lib/orders.ts';
import { listOrder, scopedPage } from './lib/listing.ts';
import { audienceSees, changedWarehouses, orderWarehouses } from './lib/procurement-access.ts';
import { checkReceiptLines, receive, unreceive } from './lib/receiving.ts';
import { purchaseOrderEvent, receiptEvent } from './lib/catalogue.ts';
import type { Context, Handlers } from './types.ts';

type Receipt = components['schemas']['Receipt'];
type ReceiptLineInput = components['schemas']['ReceiptLineInput'];
const RECEIPT = 'receipt';
// A RECEIVED order accepts a receipt only to answer it with over-receipt (every line is full).
const RECEIVABLE = ['SENT', 'RECEIVED'];

/** What showing receipts needs besides the database: who reads them, and the match tolerance. */
interface Viewer {
  principal: Principal;
  tolerance: number;
}

const viewerOf = (ctx: { principal: Principal; config: { invoicePriceTolerance: number } }) => ({
  principal: ctx.principal,
  tolerance: ctx.config.invoicePriceTolerance,
});

/**
 * Reads what the API shows of receipts besides their rows (their lines, their orders' match
 * reports) in one round trip, and returns the function that shows a row. The reads go out at
 * once, so that they can follow the writes of the same request in one round trip. A receipt is
 * seen through its own warehouse, its match through its order's: the match is left out when the
 * reader cannot see the order (docs/standards.md §3).
 */
async function receiptPresenter(
  db: Db,
  receipts: Pick<ReceiptRow, 'id' | 'po_id'>[],
  { principal, tolerance }: Viewer,
): Promise<(row: ReceiptRow) => Receipt> {
  const poIds = [...new Set(receipts.map((r) => r.po_id))];
  const [lineRows, matches, shipTo] = await allInOrder([
    receiptLines(
      db,
      receipts.map((r) => r.id),
    ),
    matchReports(db, poIds, tolerance),
    shipToOf(db, poIds),
  ]);
  const lines = groupBy(lineRows, (l) => l.receipt_id);
  const orderVisible = (poId: string) =>
    canSee(principal, orderWarehouses({ ship_to_warehouse_id: shipTo.get(poId) ?? null }));
  return (row) => ({
    ...withEtag(present(row)),
    lines: (lines.get(row.id) ?? []).map(({ receipt_id: _, ...line }) => present(line)),
    ...(orderVisible(row.po_id) && {
      match: must(matches.get(row.po_id), 'match report of the order of a receipt'),
    }),
  });
}

/**
 * The receipt as a record tagged with `audience` (its event, its audit entries) shows it: with its
 * order's match only when every reader of the record may see the order. A receipt into WH-A
 * against an unassigned order is WH-A's, but the order's prices and quantities are not.
 */
function forAudience(
  receipt: Receipt,
  audience: string[],
  po: { ship_to_warehouse_id: string | null },
): Receipt {
  if (audienceSees(audience, orderWarehouses(po))) return receipt;
  const { match: _, ...withoutMatch } = receipt;
  return withoutMatch;
}

async function toReceipts(db: Db, rows: ReceiptRow[], viewer: Viewer): Promise<Receipt[]> {
  return rows.map(await receiptPresenter(db, rows, viewer));
}

async function toReceipt(db: Db, row: ReceiptRow, viewer: Viewer): Promise<Receipt> {
  const [receipt] = await toReceipts(db, [row], viewer);
  return receipt;
}

/** Saves a receipt (its statements sent when called) and shows it, in one round trip. */
async function saveAndShow(
  db: Db,
  receipt: Pick<ReceiptRow, 'id' | 'po_id'>,
  saved: Promise<ReceiptRow>,
  viewer: Viewer,
): Promise<Receipt> {
  const [row, show] = await allInOrder([saved, receiptPresenter(db, [receipt], viewer)]);
  return show(row);
}

/**
 * 422 unless the order's lines and the warehouse fit (resolveOrderLines) and the lines carry what
 * their items' tracking needs; returns the lines with their items.
 */
function checkReceipt(
  order: OrderReferences & { po: PurchaseOrderRow },
  warehouseId: string,
  lines: ReceiptLineInput[],
): ReceiptLine[] {
  const { lines: resolved, errors } = resolveLineUnits(
    resolveOrderLines(order, warehouseId, lines, 'receive it there'),
    'qty_received',
    (l) => order.refs.items.get(l.item_id),
  );
  if (errors.length) throw invalid(errors);
  checkReceiptLines(order.refs, warehouseId, resolved);
  return resolved;
}

/**
 * Locks the order a receipt is against (`lockOrder`: the order, then its lines), then the receipt:
 * the order in which every writer of an order's quantities locks (receiving, reversing, closing,
 * cancelling, revising, invoicing), so that none of them deadlocks with another, and a change
 * order cannot remove a line while a receipt is being made to name it. The receipt is read first,
 * unlocked, to find its order; its warehouse is checked on both reads, as a PUT may move it in
 * between. Null when there is no such receipt.
 */
async function lockAfterOrder<T>(
  db: Db,
  principal: Principal,
  id: string,
  lockOrder: (poId: string) => Promise<T>,
): Promise<{ receipt: ReceiptRow; order: T } | null> {
  const found = await findReceipt(db, id);
  if (!found) return null;
  assertWarehouses(principal, found.warehouse_id);
  const order = await lockOrder(found.po_id);
  // Receipts are never deleted: the one just read is still there.
  const receipt = must(await findReceipt(db, id, { lock: true }), 'a receipt read just before');
  assertWarehouses(principal, receipt.warehouse_id);
  return { receipt, order };
}

/** 409 unless the order is in a state that accepts receipts. */
function assertReceivable(po: PurchaseOrderRow): PurchaseOrderRow {
  if (!RECEIVABLE.includes(po.status))
    throw invalidState('Purchase order', po.id, po.status, RECEIVABLE, 'received against');
  return po;
}

interface Posting {
  id: string;
  /** The order and its lines, locked. */
  po: PurchaseOrderRow;
  poLines: PurchaseOrderLineRow[];
  warehouseId: string;
  lines: ReceiptLine[];
  /** The PENDING receipt being posted, for the audit entry. */
  before?: Receipt;
  /** Posted as it is created: its `procurement.receipt.created` goes with the posting's events. */
  created?: boolean;
}

/**
 * Posts the receipt's goods (lib/receiving.ts), saves the receipt as POSTED with `save` (whose
 * statements go out when it is called), and records what a posting owes: the events (the
 * ledger's, the receipt's and its order's, after every other write) and the audit entries of the
 * receipt and of its order, all in the request's transaction. Three round trips: the ledger's
 * reads; every write with the reads that show the result; the events and the audit entries.
 */
async function postAndRecord(
  ctx: Context<'createReceipt' | 'postReceipt'>,
  p: Posting,
  save: (stockMoveId: string) => Promise<ReceiptRow>,
): Promise<Receipt> {
  const { db, audit } = ctx;
  const received = await receive(ctx, {
    receiptId: p.id,
    po: p.po,
    poLines: p.poLines,
    warehouseId: p.warehouseId,
    lines: p.lines,
  });
  // In the order they were sent: should the ledger's writes fail (a deadlock, to retry), that is
  // the error to see, not the "transaction aborted" of the statements behind them.
  const [poAfter, receipt, poLinesAfter] = await allInOrder([
    received.po,
    saveAndShow(db, { id: p.id, po_id: p.po.id }, save(received.stockMoveId), viewerOf(ctx)),
    purchaseOrderLines(db, [p.po.id]),
  ]);
  // The response is the poster's; the events and the entry are their readers' (forAudience).
  const audience = [p.warehouseId];
  const shown = forAudience(receipt, audience, p.po);
  const orderAfter = presentPurchaseOrder(poAfter, poLinesAfter);
  const events: OutboxEvent[] = [
    ...received.events,
    ...(p.created ? [receiptEvent('procurement.receipt.created', shown)] : []),
    receiptEvent('inventory.receipt.posted', shown),
    purchaseOrderEvent('procurement.purchase_order.received', orderAfter),
  ];
  await allInOrder([
    audit({
      action: 'receipt.posted',
      entity: 'receipt',
      entityId: p.id,
      warehouseIds: audience,
      before: p.before && forAudience(p.before, audience, p.po),
      after: shown,
    }),
    audit({
      action: 'purchase_order.received',
      entity: 'purchase_order',
      entityId: p.po.id,
      warehouseIds: orderWarehouses(p.po),
      before: presentPurchaseOrder(p.po, p.poLines),
      after: orderAfter,
    }),
    insertEvents(db, events),
  ]);
  return receipt;
}

export const receiptHandlers = {
  async createReceipt(ctx) {
    const { db, body, principal, actor, audit } = ctx;
    assertWarehouses(principal, body.warehouse_id);
    const order = await loadOrderReferences(db, body.po_id, body.warehouse_id, { lock: true });
    const { po, poLines } = order;
    if (!po)
      throw invalidField(
        '#/po_id',
        'unknown_purchase_order',
        `No purchase order ${body.po_id} exists.`,
      );
    // Receiving changes the order: the token must see it (docs/standards.md §3).
    assertVisible(principal, orderWarehouses(po));
    const lines = checkReceipt({ ...order, po }, body.warehouse_id, body.lines);
    assertReceivable(po);
    const id = newId('rcpt');
    const insert = (stockMoveId: string | null) =>
      insertReceipt(
        db,
        {
          id,
          po_id: po.id,
          warehouse_id: body.warehouse_id,
          created_by: actor.sub,
          stock_move_id: stockMoveId,
        },
        lines,
      );
    let receipt: Receipt;
    if (body.draft) {
      receipt = await saveAndShow(db, { id, po_id: po.id }, insert(null), viewerOf(ctx));
      const shown = forAudience(receipt, [body.warehouse_id], po);
      await allInOrder([
        audit({
          action: 'receipt.created',
          entity: 'receipt',
          entityId: id,
          warehouseIds: [body.warehouse_id],
          after: shown,
        }),
        insertEvents(db, [receiptEvent('procurement.receipt.created', shown)]),
      ]);
    } else {
      receipt = await postAndRecord(
        ctx,
        { id, po, poLines, warehouseId: body.warehouse_id, lines, created: true },
        insert,
      );
    }
    return {
      status: 201,
      body: receipt,
      etag: receipt.etag,
      location: `/procurement/receipts/${id}`,
    };
  },

  async getReceipt(ctx) {
    const { db, params, principal } = ctx;
    const row = await findReceipt(db, params.id);
    if (!row) throw notFound(RECEIPT, params.id);
    assertVisible(principal, [row.warehouse_id]);
    const receipt = await toReceipt(db, row, viewerOf(ctx));
    return { status: 200, body: receipt, etag: receipt.etag };
  },

  async listReceipts(ctx) {
    const { db, query, principal, page } = ctx;
    // A receipt is its warehouse's, whoever may see its order: `po_id` is a filter like `status`,
    // and the receipts it lists show their match only when the order is visible (receiptPresenter).
    const keyset = listOrder(NEWEST_FIRST, query);
    const rows = await listReceipts(db, {
      po_id: query.po_id,
      status: query.status,
      reversed: query.reversed,
      keyset,
      ...scopedPage<unknown[]>(principal, page),
    });
    return {
      status: 200,
      body: page.result(await toReceipts(db, rows, viewerOf(ctx)), keysetKey(keyset)),
    };
  },

  async replaceReceipt(ctx) {
    const { db, params, body, principal, ifMatch, audit } = ctx;
    const locked = await lockAfterOrder(db, principal, params.id, (poId) =>
      loadOrderReferences(db, poId, body.warehouse_id, { lock: true }),
    );
    if (!locked) throw notFound(RECEIPT, params.id);
    assertWarehouses(principal, body.warehouse_id);
    const { receipt: current, order } = locked;
    // A receipt's po_id is a foreign key: its order exists.
    const po = must(order.po, 'purchase order of a receipt');
    assertVisible(principal, orderWarehouses(po));
    const lines = checkReceipt({ ...order, po }, body.warehouse_id, body.lines);
    assertChangeable(current, RECEIPT, params.id, ifMatch, ['PENDING'], 'changed');
    const before = await toReceipt(db, current, viewerOf(ctx));
    const row = await updateReceipt(db, current.id, { warehouse_id: body.warehouse_id });
    await replaceReceiptLines(db, current.id, lines);
    const receipt = await toReceipt(db, row, viewerOf(ctx));
    // Readers of the warehouse it left and of the one it is in now read the entry and the event:
    // both are built for them all, and the event tells the old warehouse's followers it left.
    const audience = changedWarehouses([current.warehouse_id], [body.warehouse_id]);
    const shownBefore = forAudience(before, audience, po);
    const shown = forAudience(receipt, audience, po);
    await allInOrder([
      audit({
        action: 'receipt.updated',
        entity: 'receipt',
        entityId: current.id,
        warehouseIds: audience,
        before: shownBefore,
        after: shown,
      }),
      insertEvents(db, [receiptEvent('procurement.receipt.updated', shown, shownBefore)]),
    ]);
    return { status: 200, body: receipt, etag: receipt.etag };
  },

  async postReceipt(ctx) {
    const { db, params, principal, ifMatch } = ctx;
    const locked = await lockAfterOrder(db, principal, params.id, (poId) =>
      findPurchaseOrderWithLines(db, poId, { lock: true }),
    );
    const current = assertChangeable(
      locked?.receipt ?? null,
      RECEIPT,
      params.id,
      ifMatch,
      ['PENDING'],
      'posted',
    );
    const order = must(locked, 'the receipt found above').order;
    // A receipt's po_id is a foreign key: its order exists. Posting changes the order, which
    // the token must see (docs/standards.md §3).
    const orderRow = must(order.po, 'purchase order of a receipt');
    assertVisible(principal, orderWarehouses(orderRow));
    const po = assertReceivable(orderRow);
    const before = await toReceipt(db, current, viewerOf(ctx));
    const receipt = await postAndRecord(
      ctx,
      {
        id: current.id,
        po,
        poLines: order.lines,
        warehouseId: current.warehouse_id,
        lines: before.lines,
        before,
      },
      (stockMoveId) => updateReceipt(db, current.id, { stock_move_id: stockMoveId }),
    );
    return { status: 200, body: receipt, etag: receipt.etag };
  },

  async reverseReceipt(ctx) {
    const { db, params, principal, ifMatch, audit, body } = ctx;
    // Its quantities leave lines nobody else moves meanwhile; two reversals of one receipt queue
    // on its row.
    const locked = await lockAfterOrder(db, principal, params.id, (poId) =>
      findPurchaseOrderWithLines(db, poId, { lock: true }),
    );
    if (!locked) throw notFound(RECEIPT, params.id);
    const { order } = locked;
    // A receipt's po_id is a foreign key: its order exists. Reversing changes the order, which
    // the token must see (docs/standards.md §3).
    const po = must(order.po, 'purchase order of a receipt');
    assertVisible(principal, orderWarehouses(po));
    const current = assertChangeable(
      locked.receipt,
      RECEIPT,
      params.id,
      ifMatch,
      ['POSTED'],
      'reversed',
    );
    if (current.reversed_by_move !== null)
      throw new ProblemError(
        'invalid-state',
        `Receipt ${current.id} was already reversed, by stock move ${current.reversed_by_move}; it can be reversed only once.`,
        { current_status: 'REVERSED', allowed_statuses: ['POSTED'] },
      );
    if (!RECEIVABLE.includes(po.status))
      throw invalidState('Purchase order', po.id, po.status, RECEIVABLE, 'have receipts reversed');
    const stockMoveId = must(current.stock_move_id, 'stock move of a POSTED receipt (CHECK)');
    const [before, move, moveLines] = await allInOrder([
      toReceipt(db, current, viewerOf(ctx)),
      findMove(db, stockMoveId),
      linesOf(db, [stockMoveId]),
    ]);
    const undone = await unreceive(ctx, {
      receiptId: current.id,
      po,
      poLines: order.lines,
      lines: before.lines,
      move: must(move, 'stock move of a receipt (foreign key)'),
      moveLines,
      reason: body?.reason,
    });
    // In the order they were sent, as postAndRecord does: the ledger's error first.
    const [poAfter, receipt, poLinesAfter] = await allInOrder([
      undone.po,
      saveAndShow(
        db,
        current,
        updateReceipt(db, current.id, { reversed_by_move: undone.stockMoveId }),
        viewerOf(ctx),
      ),
      purchaseOrderLines(db, [po.id]),
    ]);
    const audience = [current.warehouse_id];
    const shown = forAudience(receipt, audience, po);
    const orderAfter = presentPurchaseOrder(poAfter, poLinesAfter);
    await allInOrder([
      audit({
        action: 'receipt.reversed',
        entity: 'receipt',
        entityId: current.id,
        warehouseIds: audience,
        before: forAudience(before, audience, po),
        after: shown,
      }),
      audit({
        action: 'purchase_order.receipt_reversed',
        entity: 'purchase_order',
        entityId: po.id,
        warehouseIds: orderWarehouses(po),
        before: presentPurchaseOrder(po, order.lines),
        after: orderAfter,
      }),
      insertEvents(db, [
        ...undone.events,
        receiptEvent('procurement.receipt.reversed', shown),
        purchaseOrderEvent('procurement.purchase_order.updated', orderAfter),
      ]),
    ]);
    return { status: 200, body: receipt, etag: receipt.etag };
  },
} satisfies Pick<
  Handlers,
  | 'createReceipt'
  | 'getReceipt'
  | 'listReceipts'
  | 'replaceReceipt'
  | 'postReceipt'
  | 'reverseReceipt'
>;
