import {
  findInvoice,
  insertInvoice,
  insertInvoiceLines,
  invoiceLines,
  listInvoices,
  updateInvoice,
  type InvoiceLineRow,
  type InvoiceRow,
} from '../db/invoices.ts';
import { invoiceLineFigures } from '../db/match.ts';
import {
  addToLineFigures,
  findPurchaseOrder,
  findPurchaseOrderWithLines,
  purchaseOrderLines,
  type PurchaseOrderRow,
} from '../db/purchase-orders.ts';
import { allInOrder, type Db } from '../db/client.ts';
import { newId } from '../db/ids.ts';
import { keysetKey, NEWEST_FIRST } from '../db/keyset.ts';
import type { components } from '../generated/api.ts';
import {
  ProblemError,
  invalid,
  invalidField,
  invalidState,
  notFound,
  type FieldError,
} from '../domain/problems.ts';
import { assertVisible } from '../domain/access.ts';
import { must } from '../domain/must.ts';
import { insertEvents } from '../db/outbox.ts';
import { groupBy } from './lib/documents.ts';
import { listOrder, scopedPage } from './lib/listing.ts';
import { invoiceEvent, purchaseOrderEvent } from './lib/catalogue.ts';
import { assertOrderFilterVisible, orderWarehouses } from './lib/procurement-access.ts';
import { matchReasons, statusOf } from './lib/match.ts';
import { poLineErrors, presentPurchaseOrder } from './lib/orders.ts';
import { echoUnits, resolveLineUnits, unitColumns } from './lib/line-units.ts';
import { findItemsOfOrder } from '../db/items.ts';
import { assertChangeable } from './lib/documents.ts';
import { etagOf } from './lib/versioned.ts';
import { micro, toNumber, type Micro } from './lib/quantity.ts';
import type { Context, Handlers, RequestBody } from './types.ts';

type Invoice = components['schemas']['Invoice'];

function presentInvoice(
  { version, accepted_by, accepted_reason, ...row }: InvoiceRow,
  lines: InvoiceLineRow[],
): Invoice {
  return {
    ...row,
    ...(accepted_by === null ? {} : { accepted_by, accepted_reason: accepted_reason ?? '' }),
    etag: etagOf(version),
    lines: lines.map(({ invoice_id: _, uom, uom_qty, uom_unit_price, ...line }) => ({
      ...line,
      ...echoUnits({ uom, uom_qty, uom_unit_price }),
    })),
  };
}

const INVOICE = 'invoice';

type LineIncrement = { po_line_id: string; qty: number };

/** Quantities summed per PO line (exact millionths), in the lines' first order. */
function perLine(lines: LineIncrement[]): Map<string, Micro> {
  const sums = new Map<string, Micro>();
  for (const l of lines) sums.set(l.po_line_id, (sums.get(l.po_line_id) ?? 0n) + micro(l.qty));
  return sums;
}

function overCredit(poLineId: string, invoiced: number, credited: number, requested: number) {
  return new ProblemError(
    'over-credit',
    `Line ${poLineId} has ${invoiced} invoiced and ${credited} credited; ${requested} more cannot be credited.`,
    { po_line_id: poLineId, invoiced, credited, requested },
  );
}

async function toInvoices(db: Db, rows: InvoiceRow[]): Promise<Invoice[]> {
  const lines = groupBy(
    await invoiceLines(
      db,
      rows.map((r) => r.id),
    ),
    (l) => l.invoice_id,
  );
  return rows.map((row) => presentInvoice(row, lines.get(row.id) ?? []));
}

/** The invoice must name the order's vendor and currency (when it names them) and lines of that order. */
function invoiceErrors(
  body: RequestBody<'createInvoice'>,
  po: PurchaseOrderRow,
  poLineIds: Set<string>,
): FieldError[] {
  const errors: FieldError[] = [];
  if (body.vendor_id !== undefined && body.vendor_id !== po.vendor_id) {
    errors.push({
      pointer: '#/vendor_id',
      code: 'vendor_mismatch',
      detail: `Purchase order ${po.id} is placed with vendor ${po.vendor_id}, not ${body.vendor_id}.`,
    });
  }
  if (body.currency !== undefined && body.currency !== po.currency) {
    errors.push({
      pointer: '#/currency',
      code: 'currency_mismatch',
      detail: `Purchase order ${po.id} is in ${po.currency}, not ${body.currency}.`,
    });
  }
  return [...errors, ...poLineErrors(body.lines, po.id, poLineIds)];
}

export const invoiceHandlers = {
  async createInvoice({ db, body, principal, config, actor, audit }) {
    // The order and its lines are locked, in the same order as receipts lock them, so the
    // cumulative invoiced quantities the match compares are those this invoice commits with.
    const [{ po, lines: poLines }, items] = await allInOrder([
      findPurchaseOrderWithLines(db, body.po_id, { lock: true }),
      findItemsOfOrder(db, body.po_id),
    ]);
    if (!po)
      throw invalidField(
        '#/po_id',
        'unknown_purchase_order',
        `No purchase order ${body.po_id} exists.`,
      );
    // An invoice belongs to its order's warehouse (docs/standards.md §3).
    const warehouseIds = orderWarehouses(po);
    assertVisible(principal, warehouseIds);
    const errors = invoiceErrors(body, po, new Set(poLines.map((l) => l.id)));
    // Lines given in a unit of their item: quantity and price in stock units from here on.
    const itemOf = new Map(poLines.map((l) => [l.id, l.item_id]));
    const unitsOf = new Map(items.map((i) => [i.id, i]));
    const inStockUnits = resolveLineUnits(
      body.lines,
      'qty',
      (l) => unitsOf.get(itemOf.get(l.po_line_id) ?? ''),
      { priced: true },
    );
    errors.push(...inStockUnits.errors);
    if (errors.length) throw invalid(errors);
    const bodyLines = inStockUnits.lines;
    if (po.status === 'DRAFT')
      throw invalidState(
        'Purchase order',
        po.id,
        po.status,
        ['SENT', 'RECEIVED', 'CLOSED'],
        'invoiced',
      );

    const type = body.type ?? 'INVOICE';
    const figures = await invoiceLineFigures(db, bodyLines, config.invoicePriceTolerance, type);
    if (type === 'CREDIT_NOTE') {
      // The PO lines are locked: two credit notes racing on a line see each other's credit.
      const byId = new Map(poLines.map((l) => [l.id, l]));
      for (const [poLineId, qty] of perLine(bodyLines)) {
        const l = must(byId.get(poLineId), 'a line of the order');
        if (micro(Number(l.qty_credited)) + qty > micro(Number(l.qty_invoiced)))
          throw overCredit(poLineId, Number(l.qty_invoiced), Number(l.qty_credited), toNumber(qty));
      }
    }
    const lines: Omit<InvoiceLineRow, 'invoice_id'>[] = bodyLines.map((line, i) => {
      const reasons = matchReasons(figures[i]);
      return {
        po_line_id: line.po_line_id,
        qty: line.qty,
        unit_price: line.unit_price,
        status: statusOf(reasons),
        reasons,
        ...unitColumns(line.given),
      };
    });
    const id = newId('inv');
    const row = await insertInvoice(db, {
      id,
      vendor_id: po.vendor_id,
      po_id: po.id,
      number: body.number,
      currency: po.currency,
      type,
      created_by: actor.sub,
      match_status: lines.some((l) => l.status === 'EXCEPTION') ? 'EXCEPTION' : 'MATCHED',
    });
    if (!row)
      throw new ProblemError(
        'duplicate-number',
        `Vendor ${po.vendor_id} already has an invoice numbered ${body.number}.`,
        { number: body.number },
      );

    // One round trip: the lines, the order's invoiced quantities, and the reads that show the result.
    const [, poAfter, poLinesAfter, lineRows] = await allInOrder([
      insertInvoiceLines(db, id, lines),
      addToLineFigures(
        db,
        po.id,
        type === 'CREDIT_NOTE' ? 'qty_credited' : 'qty_invoiced',
        bodyLines,
      ),
      purchaseOrderLines(db, [po.id]),
      invoiceLines(db, [id]),
    ]);
    const invoice = presentInvoice(row, lineRows);
    const orderAfter = presentPurchaseOrder(poAfter, poLinesAfter);
    await allInOrder([
      audit({
        action: 'invoice.created',
        entity: 'invoice',
        entityId: id,
        warehouseIds,
        after: invoice,
      }),
      audit({
        action: 'purchase_order.invoiced',
        entity: 'purchase_order',
        entityId: po.id,
        warehouseIds,
        before: presentPurchaseOrder(po, poLines),
        after: orderAfter,
      }),
      // The invoice changed its order's qty_invoiced: readers of the order learn of it.
      insertEvents(db, [
        invoiceEvent('procurement.invoice.recorded', invoice, po),
        ...(invoice.match_status === 'EXCEPTION'
          ? [invoiceEvent('procurement.invoice.exception', invoice, po)]
          : []),
        purchaseOrderEvent('procurement.purchase_order.updated', orderAfter),
      ]),
    ]);
    return {
      status: 201,
      body: invoice,
      etag: invoice.etag,
      location: `/procurement/invoices/${id}`,
    };
  },

  async getInvoice({ db, params, principal }) {
    const row = await findInvoice(db, params.id);
    if (!row) throw notFound('invoice', params.id);
    // An invoice's po_id is a foreign key: its order exists.
    const po = must(await findPurchaseOrder(db, row.po_id), 'purchase order of an invoice');
    assertVisible(principal, orderWarehouses(po));
    const [invoice] = await toInvoices(db, [row]);
    return { status: 200, body: invoice, etag: invoice.etag };
  },

  voidInvoice: voidOne,
  acceptInvoice: accept,

  async listInvoices({ db, query, principal, page }) {
    await assertOrderFilterVisible(db, principal, query.po_id);
    const keyset = listOrder(NEWEST_FIRST, query);
    const rows = await listInvoices(db, {
      po_id: query.po_id,
      vendor_id: query.vendor_id,
      match_status: query.match_status,
      keyset,
      ...scopedPage<unknown[]>(principal, page),
    });
    return { status: 200, body: page.result(await toInvoices(db, rows), keysetKey(keyset)) };
  },
} satisfies Pick<
  Handlers,
  'createInvoice' | 'getInvoice' | 'listInvoices' | 'voidInvoice' | 'acceptInvoice'
>;

async function voidOne(ctx: Context<'voidInvoice'>) {
  const { db, params, principal, ifMatch, audit } = ctx;
  const found = await findInvoice(db, params.id);
  if (!found) throw notFound(INVOICE, params.id);
  // The order and its lines first, then the invoice: the order createInvoice and receipts lock
  // in, so that a void never deadlocks with them, and its quantities leave lines nobody else moves.
  const { po, lines: poLines } = await findPurchaseOrderWithLines(db, found.po_id, { lock: true });
  const order = must(po, 'purchase order of an invoice');
  const warehouseIds = orderWarehouses(order);
  assertVisible(principal, warehouseIds);
  const row = assertChangeable(
    await findInvoice(db, params.id, { lock: true }),
    INVOICE,
    params.id,
    ifMatch,
    ['RECORDED'],
    'voided',
  );
  const lines = await invoiceLines(db, [row.id]);
  const taken = [...perLine(lines)].map(([po_line_id, qty]) => ({ po_line_id, qty: -qty }));
  const takenNumbers = taken.map(({ po_line_id, qty }) => ({ po_line_id, qty: toNumber(qty) }));
  if (row.type === 'INVOICE') {
    // What stays credited must stay covered by what stays invoiced.
    const byId = new Map(poLines.map((l) => [l.id, l]));
    for (const { po_line_id, qty } of taken) {
      const l = must(byId.get(po_line_id), 'a line of the order');
      const invoicedAfter = micro(Number(l.qty_invoiced)) + qty;
      if (micro(Number(l.qty_credited)) > invoicedAfter)
        throw overCredit(po_line_id, toNumber(invoicedAfter), Number(l.qty_credited), 0);
    }
  }
  const before = presentInvoice(row, lines);
  const [updated, poAfter, poLinesAfter] = await allInOrder([
    updateInvoice(db, row.id, { status: 'VOID' }),
    addToLineFigures(
      db,
      order.id,
      row.type === 'CREDIT_NOTE' ? 'qty_credited' : 'qty_invoiced',
      takenNumbers,
    ),
    purchaseOrderLines(db, [order.id]),
  ]);
  const invoice = presentInvoice(updated, lines);
  const orderAfter = presentPurchaseOrder(poAfter, poLinesAfter);
  await allInOrder([
    audit({
      action: 'invoice.voided',
      entity: 'invoice',
      entityId: row.id,
      warehouseIds,
      before,
      after: invoice,
    }),
    audit({
      action: 'purchase_order.invoiced',
      entity: 'purchase_order',
      entityId: order.id,
      warehouseIds,
      before: presentPurchaseOrder(order, poLines),
      after: orderAfter,
    }),
    insertEvents(db, [
      invoiceEvent('procurement.invoice.voided', invoice, order),
      purchaseOrderEvent('procurement.purchase_order.updated', orderAfter),
    ]),
  ]);
  return { status: 200 as const, body: invoice, etag: invoice.etag };
}

async function accept(ctx: Context<'acceptInvoice'>) {
  const { db, params, principal, ifMatch, audit, actor, body } = ctx;
  const row = await findInvoice(db, params.id, { lock: true });
  if (!row) throw notFound(INVOICE, params.id);
  const po = must(await findPurchaseOrder(db, row.po_id), 'purchase order of an invoice');
  const warehouseIds = orderWarehouses(po);
  assertVisible(principal, warehouseIds);
  if (row.created_by === actor.sub)
    throw new ProblemError(
      'self-approval',
      `${actor.sub} recorded invoice ${row.id} and cannot accept it; another approver must.`,
    );
  assertChangeable(row, INVOICE, params.id, ifMatch, ['RECORDED'], 'accepted');
  // Only an unaccepted exception can be accepted: the state is its match and acceptance too.
  const state =
    row.match_status === 'MATCHED' ? 'MATCHED' : row.accepted_by !== null ? 'ACCEPTED' : null;
  if (state)
    throw new ProblemError(
      'invalid-state',
      `Invoice ${row.id} is ${state}; only an EXCEPTION not yet accepted can be accepted.`,
      { current_status: state, allowed_statuses: ['EXCEPTION'] },
    );
  const lines = await invoiceLines(db, [row.id]);
  const before = presentInvoice(row, lines);
  const invoice = presentInvoice(
    await updateInvoice(db, row.id, { accepted_by: actor.sub, accepted_reason: body.reason }),
    lines,
  );
  await allInOrder([
    audit({
      action: 'invoice.accepted',
      entity: 'invoice',
      entityId: row.id,
      warehouseIds,
      before,
      after: invoice,
    }),
    insertEvents(db, [invoiceEvent('procurement.invoice.accepted', invoice, po)]),
  ]);
  return { status: 200 as const, body: invoice, etag: invoice.etag };
}
