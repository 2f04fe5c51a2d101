import {
  findInvoice,
  insertInvoice,
  insertInvoiceLines,
  invoiceLines,
  listInvoices,
  type InvoiceLineRow,
  type InvoiceRow,
} from '../db/invoices.ts';
import { invoiceLineFigures } from '../db/match.ts';
import {
  addInvoiced,
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
import type { Handlers, RequestBody } from './types.ts';

type Invoice = components['schemas']['Invoice'];

function presentInvoice(row: InvoiceRow, lines: InvoiceLineRow[]): Invoice {
  return { ...row, lines: lines.map(({ invoice_id: _, ...line }) => line) };
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
    const { po, lines: poLines } = await findPurchaseOrderWithLines(db, body.po_id, { lock: true });
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
    if (errors.length) throw invalid(errors);
    if (po.status === 'DRAFT')
      throw invalidState(
        'Purchase order',
        po.id,
        po.status,
        ['SENT', 'RECEIVED', 'CLOSED'],
        'invoiced',
      );

    const figures = await invoiceLineFigures(db, body.lines, config.invoicePriceTolerance);
    const lines: Omit<InvoiceLineRow, 'invoice_id'>[] = body.lines.map((line, i) => {
      const reasons = matchReasons(figures[i]);
      return { ...line, status: statusOf(reasons), reasons };
    });
    const id = newId('inv');
    const row = await insertInvoice(db, {
      id,
      vendor_id: po.vendor_id,
      po_id: po.id,
      number: body.number,
      currency: po.currency,
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
      addInvoiced(db, po.id, body.lines),
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
    return { status: 201, body: invoice, location: `/procurement/invoices/${id}` };
  },

  async getInvoice({ db, params, principal }) {
    const row = await findInvoice(db, params.id);
    if (!row) throw notFound('invoice', params.id);
    // An invoice's po_id is a foreign key: its order exists.
    const po = must(await findPurchaseOrder(db, row.po_id), 'purchase order of an invoice');
    assertVisible(principal, orderWarehouses(po));
    const [invoice] = await toInvoices(db, [row]);
    return { status: 200, body: invoice };
  },

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
} satisfies Pick<Handlers, 'createInvoice' | 'getInvoice' | 'listInvoices'>;
