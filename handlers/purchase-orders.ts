import {
  cancelOpen,
  findPurchaseOrder,
  findPurchaseOrderWithLines,
  listPurchaseOrders,
  orderTotalAbove,
  purchaseOrderLines,
  replacePurchaseOrderLines,
  updatePurchaseOrder,
  type PurchaseOrderRow,
} from '../db/purchase-orders.ts';
import { keysetKey, NEWEST_FIRST } from '../db/keyset.ts';
import { must } from '../domain/must.ts';
import { invalid, notFound, ProblemError } from '../domain/problems.ts';
import { assertVisible } from '../domain/access.ts';
import { allInOrder } from '../db/client.ts';
import { insertEvents, type OutboxEvent } from '../db/outbox.ts';
import { assertChangeable } from './lib/documents.ts';
import { listOrder, scopedPage } from './lib/listing.ts';
import { purchaseOrderEvent } from './lib/catalogue.ts';
import { changedWarehouses, orderWarehouses } from './lib/procurement-access.ts';
import { matchReports } from './lib/match.ts';
import { incomingEvents } from './lib/levels.ts';
import { openOfOrder } from '../db/availability.ts';
import {
  checkOrderBody,
  createOrder,
  lineIdErrors,
  presentPurchaseOrder,
  toPurchaseOrder,
  toPurchaseOrders,
  type PurchaseOrder,
} from './lib/orders.ts';
import { micro } from './lib/quantity.ts';
import type { Context, Handlers } from './types.ts';

const PO = 'purchase order';

/** DRAFT → SENT. */
async function send(ctx: Context<'sendPurchaseOrder'>) {
  const { db, params, principal, ifMatch } = ctx;
  const found = await findPurchaseOrder(db, params.id, { lock: true });
  if (found) assertVisible(principal, orderWarehouses(found));
  const row = assertChangeable(found, PO, params.id, ifMatch, ['DRAFT'], 'sent');
  const threshold = ctx.config.poApprovalThresholds[row.currency];
  if (threshold !== undefined && row.approved_by === null) {
    const { total, above } = await orderTotalAbove(db, row.id, threshold);
    if (above)
      throw new ProblemError(
        'approval-required',
        `Purchase order ${row.id} totals ${total} ${row.currency}, above the approval threshold of ${threshold} ${row.currency}; approve it (POST /procurement/purchase-orders/${row.id}/approve) before sending.`,
      );
  }
  const before = await toPurchaseOrder(db, row);
  const po = await toPurchaseOrder(db, await updatePurchaseOrder(db, row.id, { status: 'SENT' }));
  // A DRAFT has nothing incoming: every level the order ships to gains its lines.
  return recordChange(ctx, 'sent', row, before, po, await incomingEvents(db, row.id, []));
}

/**
 * → CLOSED. What is still open is cancelled rather than dropped, so that every closed order
 * accounts for its whole quantity and its reason can be told from its lines.
 */
async function close(ctx: Context<'closePurchaseOrder'>) {
  const { db, params, principal, ifMatch } = ctx;
  // The lines are locked too (in the order receipts lock them): a receipt posting meanwhile
  // would otherwise grow qty_received past what the cancellation leaves open.
  const { po: found, lines } = await findPurchaseOrderWithLines(db, params.id, { lock: true });
  if (found) assertVisible(principal, orderWarehouses(found));
  const row = assertChangeable(
    found,
    PO,
    params.id,
    ifMatch,
    ['DRAFT', 'SENT', 'RECEIVED'],
    'closed',
  );
  const before = presentPurchaseOrder(row, lines);
  const open = await openOfOrder(db, row.id);
  const po = await toPurchaseOrder(db, await cancelOpen(db, row.id, { close: true }));
  return recordChange(ctx, 'closed', row, before, po, await incomingEvents(db, row.id, open));
}

/**
 * Records who approved the order for sending. Allowed under the threshold too: the approval is
 * then on record should the threshold be lowered.
 */
async function approve(ctx: Context<'approvePurchaseOrder'>) {
  const { db, params, principal, ifMatch, actor } = ctx;
  const found = await findPurchaseOrder(db, params.id, { lock: true });
  if (found) assertVisible(principal, orderWarehouses(found));
  // Separation of duties (docs/standards.md §3): like the other 403s, before 412 and 409. Whoever
  // set the order's terms, by creating it or by its last change (PUT, revision), may not approve them.
  if (found && (found.created_by === actor.sub || found.updated_by === actor.sub))
    throw new ProblemError(
      'self-approval',
      `${actor.sub} ${found.updated_by === actor.sub ? 'last changed' : 'created'} ${found.id} and cannot approve it; another approver must.`,
    );
  // A SENT order too: a revision clears its approval, and it may be approved again.
  const row = assertChangeable(found, PO, params.id, ifMatch, ['DRAFT', 'SENT'], 'approved');
  if (row.approved_by !== null)
    throw new ProblemError(
      'invalid-state',
      `Purchase order ${row.id} was already approved by ${row.approved_by}; a change (PUT, or a revision) clears the approval.`,
      { current_status: row.status },
    );
  const before = await toPurchaseOrder(db, row);
  const po = await toPurchaseOrder(
    db,
    await updatePurchaseOrder(db, row.id, { approved_by: actor.sub }),
  );
  return recordChange(ctx, 'approved', row, before, po);
}

/** Audits the change and sends its event, in the request's transaction. */
async function recordChange(
  { db, audit }: Context<'sendPurchaseOrder' | 'closePurchaseOrder' | 'approvePurchaseOrder'>,
  action: 'sent' | 'closed' | 'approved',
  row: PurchaseOrderRow,
  before: PurchaseOrder,
  po: PurchaseOrder,
  /** The events of the levels whose incoming the change moved, after the order's. */
  levelEvents: OutboxEvent[] = [],
) {
  await allInOrder([
    audit({
      action: `purchase_order.${action}`,
      entity: 'purchase_order',
      entityId: po.id,
      warehouseIds: orderWarehouses(row),
      before,
      after: po,
    }),
    insertEvents(db, [
      purchaseOrderEvent(`procurement.purchase_order.${action}`, po),
      ...levelEvents,
    ]),
  ]);
  return { status: 200 as const, body: po, etag: po.etag };
}

export const purchaseOrderHandlers = {
  async createPurchaseOrder(ctx) {
    const { db, body, principal } = ctx;
    const { vendor, errors, lines } = await checkOrderBody(db, principal, body);
    // Line ids are the server's; a client names one only to keep it on PUT.
    body.lines.forEach((line, i) => {
      if (line.id !== undefined)
        errors.push({
          pointer: `#/lines/${i}/id`,
          code: 'not_allowed',
          detail: 'Line ids are assigned by the server; send id only on PUT, to keep a line.',
        });
    });
    if (errors.length || !vendor) throw invalid(errors);
    const po = await createOrder(ctx, {
      number: body.number ?? null,
      vendor_id: vendor.id,
      currency: body.currency ?? vendor.currency,
      notes: body.notes ?? null,
      ship_to_warehouse_id: body.ship_to_warehouse_id ?? null,
      requisition_id: null,
      lines,
    });
    await insertEvents(ctx.db, [purchaseOrderEvent('procurement.purchase_order.created', po)]);
    return {
      status: 201,
      body: po,
      etag: po.etag,
      location: `/procurement/purchase-orders/${po.id}`,
    };
  },

  async getPurchaseOrder({ db, params, principal }) {
    const row = await findPurchaseOrder(db, params.id);
    if (!row) throw notFound(PO, params.id);
    assertVisible(principal, orderWarehouses(row));
    const po = await toPurchaseOrder(db, row);
    return { status: 200, body: po, etag: po.etag };
  },

  async listPurchaseOrders({ db, query, principal, page }) {
    const keyset = listOrder(NEWEST_FIRST, query);
    const rows = await listPurchaseOrders(db, {
      status: query.status,
      vendor_id: query.vendor_id,
      keyset,
      ...scopedPage<unknown[]>(principal, page),
    });
    return { status: 200, body: page.result(await toPurchaseOrders(db, rows), keysetKey(keyset)) };
  },

  async replacePurchaseOrder({ db, params, body, principal, ifMatch, actor, audit }) {
    const current = await findPurchaseOrder(db, params.id, { lock: true });
    if (!current) throw notFound(PO, params.id);
    assertVisible(principal, orderWarehouses(current));
    // Validation (422) comes before the precondition (412), as for every request (docs/standards.md §5).
    const existing = new Set((await purchaseOrderLines(db, [current.id])).map((l) => l.id));
    const { errors, lines } = await checkOrderBody(db, principal, body);
    errors.push(...lineIdErrors(body.lines, existing));
    if (errors.length) throw invalid(errors);
    assertChangeable(current, PO, params.id, ifMatch, ['DRAFT'], 'changed');
    const before = await toPurchaseOrder(db, current);
    const row = await updatePurchaseOrder(db, current.id, {
      vendor_id: body.vendor_id,
      currency: body.currency,
      notes: body.notes ?? null,
      // A replacement: omitted, the order becomes unassigned (as omitted notes are removed).
      ship_to_warehouse_id: body.ship_to_warehouse_id ?? null,
      // What was approved is no longer what would be sent.
      approved_by: null,
      updated_by: actor.sub,
    });
    await replacePurchaseOrderLines(db, current.id, lines);
    const po = await toPurchaseOrder(db, row);
    await allInOrder([
      audit({
        action: 'purchase_order.updated',
        entity: 'purchase_order',
        entityId: po.id,
        warehouseIds: changedWarehouses(orderWarehouses(current), orderWarehouses(row)),
        before,
        after: po,
      }),
      insertEvents(db, [purchaseOrderEvent('procurement.purchase_order.updated', po, before)]),
    ]);
    return { status: 200, body: po, etag: po.etag };
  },

  approvePurchaseOrder: approve,

  sendPurchaseOrder: send,

  // Closing a DRAFT cancels it; closing a SENT order stops further receipts.
  closePurchaseOrder: close,

  async cancelPurchaseOrderLineRemaining({ db, params, principal, ifMatch, audit }) {
    const { po: found, lines } = await findPurchaseOrderWithLines(db, params.id, { lock: true });
    if (!found) throw notFound(PO, params.id);
    assertVisible(principal, orderWarehouses(found));
    const line = lines.find((l) => l.id === params.line_id);
    if (!line) throw notFound('purchase order line', params.line_id);
    // DRAFT lines are changed by PUT; a RECEIVED or CLOSED order has nothing open.
    const row = assertChangeable(found, PO, params.id, ifMatch, ['SENT'], 'changed');
    if (micro(line.qty_received) + micro(line.qty_cancelled) >= micro(line.qty))
      throw new ProblemError(
        'invalid-state',
        `Line ${line.id} of purchase order ${row.id} has nothing open: ordered ${line.qty}, received ${line.qty_received}, cancelled ${line.qty_cancelled}.`,
        // The order's status allows it; it is the line that is done, so no status would help.
        { current_status: row.status },
      );
    const before = presentPurchaseOrder(row, lines);
    const open = await openOfOrder(db, row.id);
    const after = await cancelOpen(db, row.id, { lineId: line.id });
    const levelEvents = await incomingEvents(db, row.id, open);
    const po = await toPurchaseOrder(db, after);
    // As a receipt does: the order's event says what it has become.
    const type =
      po.status === 'CLOSED'
        ? 'procurement.purchase_order.closed'
        : po.status === 'RECEIVED'
          ? 'procurement.purchase_order.received'
          : 'procurement.purchase_order.updated';
    await allInOrder([
      audit({
        action: 'purchase_order.line_cancelled',
        entity: 'purchase_order',
        entityId: po.id,
        warehouseIds: orderWarehouses(row),
        before,
        after: po,
      }),
      insertEvents(db, [purchaseOrderEvent(type, po), ...levelEvents]),
    ]);
    return { status: 200, body: po, etag: po.etag };
  },

  async getPurchaseOrderMatch({ db, params, principal, config }) {
    const row = await findPurchaseOrder(db, params.id);
    if (!row) throw notFound(PO, params.id);
    assertVisible(principal, orderWarehouses(row));
    const reports = await matchReports(db, [params.id], config.invoicePriceTolerance);
    return { status: 200, body: must(reports.get(params.id), 'match report of the order') };
  },
} satisfies Pick<
  Handlers,
  | 'createPurchaseOrder'
  | 'getPurchaseOrder'
  | 'listPurchaseOrders'
  | 'replacePurchaseOrder'
  | 'approvePurchaseOrder'
  | 'sendPurchaseOrder'
  | 'closePurchaseOrder'
  | 'cancelPurchaseOrderLineRemaining'
  | 'getPurchaseOrderMatch'
>;
