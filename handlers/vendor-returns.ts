// Vendor returns: goods received against a purchase order go back to the vendor. One transaction
// (the request's) does it all, as a receipt's posting does (lib/receiving.ts): the order and its
// lines are locked first, the over-return check runs on the locked rows, the stock leaves through
// the inventory ledger as one ISSUE move, and the lines' qty_returned grows (the CHECK
// qty_returned <= qty_received backs the check). Returns, receipts and receipt reversals against
// one order queue on its lock, so together they never return more than is received.
import { allInOrder, type Db } from '../db/client.ts';
import { newId } from '../db/ids.ts';
import { keysetKey, NEWEST_FIRST } from '../db/keyset.ts';
import { insertEvents } from '../db/outbox.ts';
import {
  addToLineFigures,
  purchaseOrderLines,
  type PurchaseOrderRow,
} from '../db/purchase-orders.ts';
import {
  findVendorReturn,
  insertVendorReturn,
  listVendorReturns,
  overReturns,
  vendorReturnLines,
  type VendorReturnLine,
  type VendorReturnRow,
} from '../db/vendor-returns.ts';
import type { components } from '../generated/api.ts';
import { assertVisible, assertWarehouses } from '../domain/access.ts';
import { ProblemError, invalid, invalidField, invalidState, notFound } from '../domain/problems.ts';
import { resolveLineUnits } from './lib/line-units.ts';
import { purchaseOrderEvent, vendorReturnEvent } from './lib/catalogue.ts';
import { groupBy, present } from './lib/documents.ts';
import { Ledger, type MoveInput } from './lib/ledger.ts';
import { listOrder, scopedPage } from './lib/listing.ts';
import { resolveLines } from './lib/move-rules.ts';
import { loadOrderReferences, presentPurchaseOrder, resolveOrderLines } from './lib/orders.ts';
import { orderWarehouses } from './lib/procurement-access.ts';
import { etagOf } from './lib/versioned.ts';
import type { Handlers } from './types.ts';

type VendorReturn = components['schemas']['VendorReturn'];
const VENDOR_RETURN = 'vendor return';
// What was received may go back once the order is sent, also after it is closed: a defect often
// shows only later. A DRAFT has received nothing.
const RETURNABLE = ['SENT', 'RECEIVED', 'CLOSED'];
// A return is never changed after it is made: one version, one ETag.
const ETAG = etagOf(1);

const location = (id: string) => `/procurement/vendor-returns/${encodeURIComponent(id)}`;

/** What the ledger calls a line's item is the return line's PO line. */
function returnPointer(lineIndex: number, field: string): string {
  return `#/lines/${lineIndex}/${field === 'item_id' ? 'po_line_id' : field}`;
}

/** The stock move a return posts: its lines out of the warehouse, the item from each PO line. */
function returnMove(
  id: string,
  po: PurchaseOrderRow,
  warehouseId: string,
  reason: string,
  lines: VendorReturnLine[],
): MoveInput {
  return {
    type: 'ISSUE',
    from_wh: warehouseId,
    reference: po.number,
    reason: `Vendor return ${id}: ${reason}`,
    lines: lines.map((l) => ({
      item_id: l.item_id,
      qty: l.qty,
      ...(l.batch !== undefined && { batch: l.batch }),
      ...(l.from_location !== undefined && { from_location: l.from_location }),
      ...(l.serials !== undefined && { serials: l.serials }),
    })),
  };
}

async function toVendorReturns(db: Db, rows: VendorReturnRow[]): Promise<VendorReturn[]> {
  const lines = groupBy(
    await vendorReturnLines(
      db,
      rows.map((r) => r.id),
    ),
    (l) => l.vendor_return_id,
  );
  return rows.map((row) => ({
    ...row,
    etag: ETAG,
    lines: (lines.get(row.id) ?? []).map(({ vendor_return_id: _, ...line }) => present(line)),
  }));
}

export const vendorReturnHandlers = {
  async createVendorReturn(ctx) {
    const { db, body, principal, actor, audit, idempotencyKey } = ctx;
    assertWarehouses(principal, body.warehouse_id);
    const order = await loadOrderReferences(db, body.po_id, body.warehouse_id, { lock: true });
    if (!order.po)
      throw invalidField(
        '#/po_id',
        'unknown_purchase_order',
        `No purchase order ${body.po_id} exists.`,
      );
    const po = order.po;
    // Returning changes the order: the token must see it (docs/standards.md §3).
    assertVisible(principal, orderWarehouses(po));
    const { lines, errors } = resolveLineUnits(
      resolveOrderLines(
        { ...order, po },
        body.warehouse_id,
        body.lines,
        'return the goods from there',
      ),
      'qty',
      (l) => order.refs.items.get(l.item_id),
    );
    if (errors.length) throw invalid(errors);
    const id = newId('vret');
    const input = returnMove(id, po, body.warehouse_id, body.reason, lines);
    // The lines' batch and serial rules, before the state: a 422 is the same whatever the stock.
    resolveLines(input, order.refs, returnPointer);
    if (!RETURNABLE.includes(po.status))
      throw invalidState('Purchase order', po.id, po.status, RETURNABLE, 'returned against');

    const increments = lines.map((l) => ({ po_line_id: l.po_line_id, qty: l.qty }));
    const posting = {
      actor,
      principal,
      input,
      options: { idempotencyKey, pointer: returnPointer },
    };
    const [[over], ledger] = await allInOrder([
      overReturns(db, increments),
      Ledger.load(db, [posting]),
    ]);
    if (over)
      throw new ProblemError(
        'over-return',
        `Line ${over.po_line_id} received ${over.received}, returned ${over.returned}; ${over.requested} more would exceed it.`,
        { ...over },
      );
    // Over-issuance (the stock is gone) and serials not in this warehouse are refused here.
    const move = ledger.post(posting);
    // In the order they were sent: should the ledger's writes fail, that is the error to see.
    const [, poAfter, row, poLinesAfter] = await allInOrder([
      ledger.write(db, { deferEvents: true }),
      addToLineFigures(db, po.id, 'qty_returned', increments),
      insertVendorReturn(
        db,
        {
          id,
          po_id: po.id,
          warehouse_id: body.warehouse_id,
          reason: body.reason,
          stock_move_id: move.id,
          created_by: actor.sub,
        },
        lines,
      ),
      purchaseOrderLines(db, [po.id]),
    ]);
    const [shown] = await toVendorReturns(db, [row]);
    const orderAfter = presentPurchaseOrder(poAfter, poLinesAfter);
    await allInOrder([
      audit({
        action: 'vendor_return.posted',
        entity: 'vendor_return',
        entityId: id,
        warehouseIds: [body.warehouse_id],
        after: shown,
      }),
      audit({
        action: 'purchase_order.returned',
        entity: 'purchase_order',
        entityId: po.id,
        warehouseIds: orderWarehouses(po),
        before: presentPurchaseOrder(po, order.poLines),
        after: orderAfter,
      }),
      insertEvents(db, [
        ...ledger.events,
        vendorReturnEvent('procurement.vendor_return.posted', shown),
        purchaseOrderEvent('procurement.purchase_order.updated', orderAfter),
      ]),
    ]);
    return { status: 201, body: shown, etag: ETAG, location: location(id) };
  },

  async getVendorReturn({ db, params, principal }) {
    const row = await findVendorReturn(db, params.id);
    if (!row) throw notFound(VENDOR_RETURN, params.id);
    assertVisible(principal, [row.warehouse_id]);
    const [shown] = await toVendorReturns(db, [row]);
    return { status: 200, body: shown, etag: ETAG };
  },

  async listVendorReturns({ db, query, principal, page }) {
    // A return is its warehouse's, whoever may see its order: `po_id` is a filter, as on receipts.
    const keyset = listOrder(NEWEST_FIRST, { order: query.order });
    const rows = await listVendorReturns(db, {
      po_id: query.po_id,
      keyset,
      ...scopedPage<unknown[]>(principal, page),
    });
    return {
      status: 200,
      body: page.result(await toVendorReturns(db, rows), keysetKey(keyset)),
    };
  },
} satisfies Pick<Handlers, 'createVendorReturn' | 'getVendorReturn' | 'listVendorReturns'>;
