import {
  findRequisition,
  insertRequisition,
  listRequisitions,
  purchaseOrderIdsByRequisition,
  replaceRequisitionLines,
  requisitionLines,
  updateRequisition,
  type RequisitionLineInput,
  type RequisitionLineRow,
  type RequisitionRow,
} from '../db/requisitions.ts';
import type { Db } from '../db/client.ts';
import { newId } from '../db/ids.ts';
import { newestKey } from '../db/keyset.ts';
import type { components } from '../generated/api.ts';
import { must } from '../domain/must.ts';
import { invalid, notFound, type FieldError } from '../domain/problems.ts';
import { assertChangeable, groupBy, present, withEtag } from './lib/documents.ts';
import { createOrder } from './lib/orders.ts';
import { lineItemErrors, loadReferences, loadVendors, vendorErrors } from './lib/references.ts';
import type { Handlers } from './types.ts';

type Requisition = components['schemas']['Requisition'];
const REQ = 'requisition';

async function toRequisitions(db: Db, rows: RequisitionRow[]): Promise<Requisition[]> {
  const ids = rows.map((r) => r.id);
  const lines = groupBy(await requisitionLines(db, ids), (l) => l.requisition_id);
  const orders = groupBy(await purchaseOrderIdsByRequisition(db, ids), (o) => o.requisition_id);
  return rows.map((row) => ({
    ...withEtag(present(row)),
    lines: (lines.get(row.id) ?? []).map(({ requisition_id: _, ...line }) => present(line)),
    purchase_order_ids: (orders.get(row.id) ?? []).map((o) => o.id),
  }));
}

async function toRequisition(db: Db, row: RequisitionRow): Promise<Requisition> {
  const [requisition] = await toRequisitions(db, [row]);
  return requisition;
}

/** 422 unless every line's item and vendor (when named) exist and are active. */
async function checkLines(db: Db, lines: RequisitionLineInput[]): Promise<void> {
  const refs = await loadReferences(
    db,
    lines.map((l) => l.item_id),
    [],
  );
  const vendors = await loadVendors(
    db,
    lines.flatMap((l) => l.vendor_id ?? []),
  );
  const errors = [
    ...lineItemErrors(refs, lines, (i) => `#/lines/${i}/item_id`),
    ...lines.flatMap((l, i) =>
      l.vendor_id === undefined ? [] : vendorErrors(vendors, l.vendor_id, `#/lines/${i}/vendor_id`),
    ),
  ];
  if (errors.length) throw invalid(errors);
}

/**
 * The purchase orders a requisition converts into: its lines grouped by vendor, each priced.
 * Vendors and items were checked when the lines were written but may have been deactivated since;
 * the requisition's lines are not part of the body, so such errors point at the body as a whole.
 */
async function planOrders(
  db: Db,
  lines: RequisitionLineRow[],
  body: { vendor_id?: string; prices?: Record<string, string> },
) {
  const vendorIds = [...new Set(lines.flatMap((l) => l.vendor_id ?? body.vendor_id ?? []))];
  const vendors = await loadVendors(db, vendorIds);
  const refs = await loadReferences(
    db,
    lines.map((l) => l.item_id),
    [],
  );
  const errors: FieldError[] = [
    ...vendorIds.flatMap((id) =>
      vendorErrors(vendors, id, id === body.vendor_id ? '#/vendor_id' : '#'),
    ),
    ...lineItemErrors(refs, lines, () => '#'),
  ];
  const priced = lines.flatMap((line, i) => {
    const vendorId = line.vendor_id ?? body.vendor_id;
    const unitPrice = line.unit_price ?? body.prices?.[line.item_id];
    if (vendorId === undefined)
      errors.push({
        pointer: '#/vendor_id',
        code: 'required',
        detail: `Line ${i} (${line.item_id}) names no vendor: give vendor_id for lines without one.`,
      });
    if (unitPrice === undefined)
      errors.push({
        pointer: `#/prices/${line.item_id}`,
        code: 'required',
        detail: `Line ${i} (${line.item_id}) has no unit_price: give one in prices.`,
      });
    return vendorId === undefined || unitPrice === undefined
      ? []
      : [{ vendorId, line: { item_id: line.item_id, qty: line.qty, unit_price: unitPrice } }];
  });
  if (errors.length) throw invalid(errors);
  return [...groupBy(priced, (p) => p.vendorId)].map(([vendorId, group]) => ({
    vendor: must(vendors.get(vendorId), 'vendor of a line, checked above'),
    lines: group.map((p) => p.line),
  }));
}

export const requisitionHandlers = {
  async createRequisition({ db, body, actor, audit }) {
    await checkLines(db, body.lines);
    const row = await insertRequisition(db, {
      id: newId('req'),
      requester_id: body.requester_id ?? actor.sub,
      notes: body.notes ?? null,
    });
    await replaceRequisitionLines(db, row.id, body.lines);
    const requisition = await toRequisition(db, row);
    await audit({
      action: 'requisition.created',
      entity: 'requisition',
      entityId: row.id,
      after: requisition,
    });
    return {
      status: 201,
      body: requisition,
      etag: requisition.etag,
      location: `/procurement/requisitions/${row.id}`,
    };
  },

  async getRequisition({ db, params }) {
    const row = await findRequisition(db, params.id);
    if (!row) throw notFound(REQ, params.id);
    const requisition = await toRequisition(db, row);
    return { status: 200, body: requisition, etag: requisition.etag };
  },

  async listRequisitions({ db, query, page }) {
    const rows = await listRequisitions(db, {
      status: query.status,
      after: page.after,
      limit: page.limit,
    });
    return { status: 200, body: page.result(await toRequisitions(db, rows), newestKey) };
  },

  async replaceRequisition({ db, params, body, ifMatch, audit }) {
    const current = await findRequisition(db, params.id, { lock: true });
    if (!current) throw notFound(REQ, params.id);
    await checkLines(db, body.lines);
    assertChangeable(current, REQ, params.id, ifMatch, ['DRAFT'], 'changed');
    const before = await toRequisition(db, current);
    const row = await updateRequisition(db, current.id, { notes: body.notes ?? null });
    await replaceRequisitionLines(db, row.id, body.lines);
    const requisition = await toRequisition(db, row);
    await audit({
      action: 'requisition.updated',
      entity: 'requisition',
      entityId: row.id,
      before,
      after: requisition,
    });
    return { status: 200, body: requisition, etag: requisition.etag };
  },

  async approveRequisition({ db, params, ifMatch, actor, audit }) {
    const current = assertChangeable(
      await findRequisition(db, params.id, { lock: true }),
      REQ,
      params.id,
      ifMatch,
      ['DRAFT'],
      'approved',
    );
    const before = await toRequisition(db, current);
    const requisition = await toRequisition(
      db,
      await updateRequisition(db, current.id, { status: 'APPROVED', approved_by: actor.sub }),
    );
    await audit({
      action: 'requisition.approved',
      entity: 'requisition',
      entityId: current.id,
      before,
      after: requisition,
    });
    return { status: 200, body: requisition, etag: requisition.etag };
  },

  async convertRequisition(ctx) {
    const { db, params, ifMatch, body, audit } = ctx;
    const current = assertChangeable(
      await findRequisition(db, params.id, { lock: true }),
      REQ,
      params.id,
      ifMatch,
      ['APPROVED'],
      'converted',
    );
    // What the body must supply depends on the requisition's lines, so it is checked only once
    // the requisition is known to be convertible (a wrong state is 409, not a list of missing prices).
    const orders = await planOrders(db, await requisitionLines(db, [current.id]), body ?? {});
    const before = await toRequisition(db, current);
    for (const { vendor, lines } of orders) {
      await createOrder(ctx, {
        number: null,
        vendor_id: vendor.id,
        currency: vendor.currency,
        notes: null,
        requisition_id: current.id,
        lines,
      });
    }
    const requisition = await toRequisition(
      db,
      await updateRequisition(db, current.id, { status: 'ORDERED' }),
    );
    await audit({
      action: 'requisition.converted',
      entity: 'requisition',
      entityId: current.id,
      before,
      after: requisition,
    });
    return { status: 200, body: requisition, etag: requisition.etag };
  },
} satisfies Pick<
  Handlers,
  | 'createRequisition'
  | 'getRequisition'
  | 'listRequisitions'
  | 'replaceRequisition'
  | 'approveRequisition'
  | 'convertRequisition'
>;
