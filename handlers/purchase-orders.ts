import {
  findPurchaseOrder,
  listPurchaseOrders,
  purchaseOrderLines,
  replacePurchaseOrderLines,
  updatePurchaseOrder,
  type PurchaseOrderStatus,
} from '../db/purchase-orders.ts';
import { keysetKey, NEWEST_FIRST } from '../db/keyset.ts';
import { must } from '../domain/must.ts';
import { invalid, notFound, type FieldError } from '../domain/problems.ts';
import { assertVisible } from '../domain/access.ts';
import { allInOrder } from '../db/client.ts';
import { insertEvents } from '../db/outbox.ts';
import { assertChangeable } from './lib/documents.ts';
import { listOrder, scopedPage } from './lib/listing.ts';
import { purchaseOrderEvent } from './lib/catalogue.ts';
import { changedWarehouses, orderWarehouses } from './lib/procurement-access.ts';
import { matchReports } from './lib/match.ts';
import { checkOrderBody, createOrder, toPurchaseOrder, toPurchaseOrders } from './lib/orders.ts';
import type { Context, Handlers } from './types.ts';

const PO = 'purchase order';

/** Lines may keep their ids on PUT only, and only ids of this order's lines, each once. */
function lineIdErrors(lines: { id?: string }[], existing: Set<string>): FieldError[] {
  const seen = new Set<string>();
  return lines.flatMap(({ id }, i): FieldError[] => {
    if (id === undefined) return [];
    const pointer = `#/lines/${i}/id`;
    if (!existing.has(id))
      return [
        {
          pointer,
          code: 'unknown_po_line',
          detail: `Line ${id} is not a line of this purchase order (omit id for a new line).`,
        },
      ];
    if (seen.has(id))
      return [{ pointer, code: 'duplicate_line', detail: `Line ${id} appears more than once.` }];
    seen.add(id);
    return [];
  });
}

/** A status change of a purchase order: DRAFT → SENT, or → CLOSED. */
async function changeStatus(
  ctx: Context<'sendPurchaseOrder' | 'closePurchaseOrder'>,
  allowed: PurchaseOrderStatus[],
  to: PurchaseOrderStatus,
  action: 'sent' | 'closed',
) {
  const { db, params, principal, ifMatch, audit } = ctx;
  const found = await findPurchaseOrder(db, params.id, { lock: true });
  if (found) assertVisible(principal, orderWarehouses(found));
  const row = assertChangeable(found, PO, params.id, ifMatch, allowed, action);
  const before = await toPurchaseOrder(db, row);
  const po = await toPurchaseOrder(db, await updatePurchaseOrder(db, row.id, { status: to }));
  await allInOrder([
    audit({
      action: `purchase_order.${action}`,
      entity: 'purchase_order',
      entityId: po.id,
      warehouseIds: orderWarehouses(row),
      before,
      after: po,
    }),
    insertEvents(db, [purchaseOrderEvent(`procurement.purchase_order.${action}`, po)]),
  ]);
  return { status: 200 as const, body: po, etag: po.etag };
}

export const purchaseOrderHandlers = {
  async createPurchaseOrder(ctx) {
    const { db, body, principal } = ctx;
    const { vendor, errors } = await checkOrderBody(db, principal, body);
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
      lines: body.lines,
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

  async replacePurchaseOrder({ db, params, body, principal, ifMatch, audit }) {
    const current = await findPurchaseOrder(db, params.id, { lock: true });
    if (!current) throw notFound(PO, params.id);
    assertVisible(principal, orderWarehouses(current));
    // Validation (422) comes before the precondition (412), as for every request (docs/standards.md §5).
    const existing = new Set((await purchaseOrderLines(db, [current.id])).map((l) => l.id));
    const { errors } = await checkOrderBody(db, principal, body);
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
    });
    await replacePurchaseOrderLines(db, current.id, body.lines);
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

  sendPurchaseOrder: (ctx) => changeStatus(ctx, ['DRAFT'], 'SENT', 'sent'),

  // Closing a DRAFT cancels it; closing a SENT order stops further receipts.
  closePurchaseOrder: (ctx) => changeStatus(ctx, ['DRAFT', 'SENT', 'RECEIVED'], 'CLOSED', 'closed'),

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
  | 'sendPurchaseOrder'
  | 'closePurchaseOrder'
  | 'getPurchaseOrderMatch'
>;
