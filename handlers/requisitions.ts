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
import { allInOrder, type Db } from '../db/client.ts';
import { insertEvents } from '../db/outbox.ts';
import { newId } from '../db/ids.ts';
import { keysetKey, NEWEST_FIRST } from '../db/keyset.ts';
import type { components } from '../generated/api.ts';
import { ProblemError, invalid, notFound, type FieldError } from '../domain/problems.ts';
import { assertVisible, assertWarehouses, type Principal } from '../domain/access.ts';
import { assertChangeable, groupBy, present, withEtag } from './lib/documents.ts';
import { createOrder } from './lib/orders.ts';
import {
  lineItemErrors,
  loadReferences,
  loadVendors,
  vendorErrors,
  warehouseErrors,
} from './lib/references.ts';
import { listOrder, scopedPage } from './lib/listing.ts';
import {
  assertMayChangeRequisition,
  changedWarehouses,
  requisitionWarehouses,
  warehouseRequired,
} from './lib/procurement-access.ts';
import { purchaseOrderEvent, requisitionEvent } from './lib/catalogue.ts';
import { applyVendorTerms } from './lib/vendor-terms.ts';
import { preferredVendorItems } from '../db/vendor-items.ts';
import type { Context, Handlers } from './types.ts';
import { resolveLineUnits } from './lib/line-units.ts';

type Requisition = components['schemas']['Requisition'];
type RequisitionLineBody = components['schemas']['RequisitionLineInput'];
const REQ = 'requisition';

async function toRequisitions(db: Db, rows: RequisitionRow[]): Promise<Requisition[]> {
  const ids = rows.map((r) => r.id);
  const lines = groupBy(await requisitionLines(db, ids), (l) => l.requisition_id);
  const orders = groupBy(await purchaseOrderIdsByRequisition(db, ids), (o) => o.requisition_id);
  // Who created it and who last replaced its lines are for separation of duties only.
  return rows.map(({ created_by: _, updated_by: __, ...row }) => ({
    ...withEtag(present(row)),
    lines: (lines.get(row.id) ?? []).map(({ requisition_id: _, ...line }) => present(line)),
    purchase_order_ids: (orders.get(row.id) ?? []).map((o) => o.id),
  }));
}

/**
 * The answer to a requisition just made (by createRequisition, or from a replenishment run), with
 * its audit entry and `procurement.requisition.created` event.
 */
export async function requisitionCreated(
  db: Db,
  audit: Context<'createRequisition'>['audit'],
  row: RequisitionRow,
) {
  const requisition = await toRequisition(db, row);
  await allInOrder([
    audit({
      action: 'requisition.created',
      entity: 'requisition',
      entityId: row.id,
      warehouseIds: requisitionWarehouses(requisition.lines),
      after: requisition,
    }),
    insertEvents(db, [requisitionEvent('procurement.requisition.created', requisition)]),
  ]);
  return {
    status: 201 as const,
    body: requisition,
    etag: requisition.etag,
    location: `/procurement/requisitions/${row.id}`,
  };
}

export async function toRequisition(db: Db, row: RequisitionRow): Promise<Requisition> {
  const [requisition] = await toRequisitions(db, [row]);
  return requisition;
}

/**
 * 403 unless every warehouse the lines name is within the token's claim; then the 422 errors of
 * the lines: unless every line's item, vendor and warehouse (when named) exist and are active,
 * and, for a restricted token, every line names its warehouse (docs/standards.md §3). The caller
 * reports them together with the body's other errors.
 */
async function lineErrors(
  db: Db,
  principal: Principal,
  lines: RequisitionLineBody[],
): Promise<{ errors: FieldError[]; lines: RequisitionLineInput[] }> {
  assertWarehouses(principal, ...lines.map((l) => l.warehouse_id));
  const refs = await loadReferences(
    db,
    lines.map((l) => l.item_id),
    lines.flatMap((l) => l.warehouse_id ?? []),
  );
  const vendors = await loadVendors(
    db,
    lines.flatMap((l) => l.vendor_id ?? []),
  );
  // Lines given in a unit of their item: quantity (and estimated price) in stock units from here on.
  const inStockUnits = resolveLineUnits(lines, 'qty', (l) => refs.items.get(l.item_id), {
    priced: true,
  });
  const errors = [
    ...inStockUnits.errors,
    ...lineItemErrors(refs, lines, (i) => `#/lines/${i}/item_id`),
    ...lines.flatMap((l, i) =>
      l.vendor_id === undefined ? [] : vendorErrors(vendors, l.vendor_id, `#/lines/${i}/vendor_id`),
    ),
    ...lines.flatMap((l, i) =>
      l.warehouse_id === undefined
        ? warehouseRequired(principal, undefined, `#/lines/${i}/warehouse_id`, 'every line')
        : warehouseErrors(refs, l.warehouse_id, `#/lines/${i}/warehouse_id`),
    ),
  ];
  return { errors, lines: inStockUnits.lines as RequisitionLineInput[] };
}

/**
 * How `sub` took part in the requisition, if it did in a way that bars approving it: as its
 * requester, its creator (who could name another requester before requester_id had to be the
 * token's subject), or the last to replace its lines, who would approve their own lines.
 */
function selfApproval(row: RequisitionRow, sub: string): string | null {
  if (row.requester_id === sub) return 'requested';
  if (row.created_by === sub) return 'created';
  if (row.updated_by === sub) return 'last replaced the lines of';
  return null;
}

/**
 * The requisition, locked for the change, and its lines; 403 when the token may not change it
 * (assertMayChangeRequisition).
 */
async function findChangeable(
  db: Db,
  principal: Principal,
  id: string,
): Promise<{ row: RequisitionRow | null; lines: RequisitionLineRow[] }> {
  const row = await findRequisition(db, id, { lock: true });
  const lines = row ? await requisitionLines(db, [row.id]) : [];
  if (row) assertMayChangeRequisition(principal, lines);
  return { row, lines };
}

/**
 * The purchase orders a requisition converts into: its lines grouped by vendor and warehouse (the
 * order ships there; lines without one make an unassigned order), each priced. A line's vendor is
 * its own, else the body's `vendor_id`, else the item's preferred vendor item's; its price its
 * own, else the body's `prices`, else the applicable break of its vendor's vendor item
 * (applyVendorTerms, which also checks the vendor's minimum and multiple). Vendors, items and
 * warehouses were checked when the lines were written but may have been deactivated since; the
 * requisition's lines are not part of the body, so such errors point at the body as a whole.
 */
async function planOrders(
  db: Db,
  lines: RequisitionLineRow[],
  body: { vendor_id?: string; prices?: Record<string, string> },
) {
  const unvendored = lines.filter((l) => (l.vendor_id ?? body.vendor_id) === undefined);
  const preferred = new Map(
    (
      await preferredVendorItems(
        db,
        unvendored.map((l) => l.item_id),
      )
    ).map((vi) => [vi.item_id, vi.vendor_id]),
  );
  const vendorOf = (line: RequisitionLineRow) =>
    line.vendor_id ?? body.vendor_id ?? preferred.get(line.item_id);
  const vendorIds = [...new Set(lines.flatMap((l) => vendorOf(l) ?? []))];
  const vendors = await loadVendors(db, vendorIds);
  const warehouseIds = requisitionWarehouses(lines);
  const refs = await loadReferences(
    db,
    lines.map((l) => l.item_id),
    warehouseIds,
  );
  const errors: FieldError[] = [
    ...vendorIds.flatMap((id) =>
      vendorErrors(vendors, id, id === body.vendor_id ? '#/vendor_id' : '#'),
    ),
    ...lineItemErrors(refs, lines, () => '#'),
    ...warehouseIds.flatMap((id) => warehouseErrors(refs, id, '#')),
  ];
  const ordered = lines.flatMap((line, i) => {
    const vendor = vendors.get(vendorOf(line) ?? '');
    if (vendorOf(line) === undefined) {
      errors.push({
        pointer: '#/vendor_id',
        code: 'required',
        detail: `Line ${i} (${line.item_id}) names no vendor and the item has no preferred vendor item: give vendor_id for lines without one.`,
      });
      // Without a vendor there are no breaks either: the price must be given.
      if ((line.unit_price ?? body.prices?.[line.item_id]) === undefined)
        errors.push({
          pointer: `#/prices/${line.item_id}`,
          code: 'required',
          detail: `Line ${i} (${line.item_id}) has no unit_price: give one in prices.`,
        });
    }
    return vendor
      ? [
          {
            vendor,
            warehouseId: line.warehouse_id,
            // The order line echoes the unit the requisition was given in (and its price per
            // that unit, when the line's own price is the order's).
            given:
              line.uom !== null && line.uom_qty !== null
                ? {
                    uom: line.uom,
                    uom_qty: line.uom_qty,
                    ...(line.unit_price !== null &&
                      line.uom_unit_price !== null && { uom_unit_price: line.uom_unit_price }),
                  }
                : undefined,
            line: {
              vendor_id: vendor.id,
              currency: vendor.currency,
              item_id: line.item_id,
              qty: line.qty,
              unit_price: line.unit_price ?? body.prices?.[line.item_id],
            },
          },
        ]
      : [];
  });
  const terms = await applyVendorTerms(
    db,
    ordered.map((o) => o.line),
    (i, field) => (field === 'qty' ? '#' : `#/prices/${ordered[i].line.item_id}`),
  );
  errors.push(...terms.errors);
  if (errors.length) throw invalid(errors);
  // One order per (vendor, warehouse); a JSON key, since a Map compares arrays by identity.
  const priced = ordered.map((o, i) => ({
    ...o,
    line: {
      item_id: o.line.item_id,
      qty: o.line.qty,
      unit_price: terms.prices[i],
      ...(o.given && { given: o.given }),
    },
  }));
  return [...groupBy(priced, (p) => JSON.stringify([p.vendor.id, p.warehouseId]))].map(
    ([, group]) => ({
      vendor: group[0].vendor,
      shipTo: group[0].warehouseId,
      lines: group.map((p) => p.line),
    }),
  );
}

export const requisitionHandlers = {
  async createRequisition({ db, body, principal, actor, audit }) {
    // The requester is who asks: approval checks them against the approver (separation of
    // duties, docs/standards.md §3), so a client may not name someone else.
    const errors: FieldError[] =
      body.requester_id === undefined || body.requester_id === actor.sub
        ? []
        : [
            {
              pointer: '#/requester_id',
              code: 'must_be_token_subject',
              detail: `requester_id must be the token's subject (${actor.sub}), or be omitted.`,
            },
          ];
    const checked = await lineErrors(db, principal, body.lines);
    errors.push(...checked.errors);
    if (errors.length) throw invalid(errors);
    const row = await insertRequisition(db, {
      id: newId('req'),
      requester_id: actor.sub,
      created_by: actor.sub,
      notes: body.notes ?? null,
    });
    await replaceRequisitionLines(db, row.id, checked.lines);
    return requisitionCreated(db, audit, row);
  },

  async getRequisition({ db, params, principal }) {
    const row = await findRequisition(db, params.id);
    if (!row) throw notFound(REQ, params.id);
    const requisition = await toRequisition(db, row);
    assertVisible(principal, requisitionWarehouses(requisition.lines));
    return { status: 200, body: requisition, etag: requisition.etag };
  },

  async listRequisitions({ db, query, principal, page }) {
    const keyset = listOrder(NEWEST_FIRST, query);
    const rows = await listRequisitions(db, {
      status: query.status,
      keyset,
      ...scopedPage<unknown[]>(principal, page),
    });
    return { status: 200, body: page.result(await toRequisitions(db, rows), keysetKey(keyset)) };
  },

  async replaceRequisition({ db, params, body, principal, ifMatch, actor, audit }) {
    const { row: current, lines } = await findChangeable(db, principal, params.id);
    if (!current) throw notFound(REQ, params.id);
    const checked = await lineErrors(db, principal, body.lines);
    if (checked.errors.length) throw invalid(checked.errors);
    assertChangeable(current, REQ, params.id, ifMatch, ['DRAFT'], 'changed');
    const before = await toRequisition(db, current);
    // Whoever writes the lines may not approve them (selfApproval).
    const row = await updateRequisition(db, current.id, {
      notes: body.notes ?? null,
      updated_by: actor.sub,
    });
    await replaceRequisitionLines(db, row.id, checked.lines);
    const requisition = await toRequisition(db, row);
    await allInOrder([
      audit({
        action: 'requisition.updated',
        entity: 'requisition',
        entityId: row.id,
        warehouseIds: changedWarehouses(
          requisitionWarehouses(lines),
          requisitionWarehouses(requisition.lines),
        ),
        before,
        after: requisition,
      }),
      // With `before`: the warehouses its lines no longer name learn that it left them.
      insertEvents(db, [requisitionEvent('procurement.requisition.updated', requisition, before)]),
    ]);
    return { status: 200, body: requisition, etag: requisition.etag };
  },

  async approveRequisition({ db, params, principal, ifMatch, actor, audit }) {
    const { row, lines } = await findChangeable(db, principal, params.id);
    // Separation of duties (docs/standards.md §3): like the other 403s, before 412 and 409.
    const own = row && selfApproval(row, actor.sub);
    if (own)
      throw new ProblemError(
        'self-approval',
        `${actor.sub} ${own} ${row.id} and cannot approve it; another approver must.`,
      );
    const current = assertChangeable(row, REQ, params.id, ifMatch, ['DRAFT'], 'approved');
    const before = await toRequisition(db, current);
    const requisition = await toRequisition(
      db,
      await updateRequisition(db, current.id, { status: 'APPROVED', approved_by: actor.sub }),
    );
    await allInOrder([
      audit({
        action: 'requisition.approved',
        entity: 'requisition',
        entityId: current.id,
        warehouseIds: requisitionWarehouses(lines),
        before,
        after: requisition,
      }),
      insertEvents(db, [requisitionEvent('procurement.requisition.approved', requisition)]),
    ]);
    return { status: 200, body: requisition, etag: requisition.etag };
  },

  async convertRequisition(ctx) {
    const { db, params, principal, ifMatch, body, audit } = ctx;
    const { row, lines: requisitionLineRows } = await findChangeable(db, principal, params.id);
    const current = assertChangeable(row, REQ, params.id, ifMatch, ['APPROVED'], 'converted');
    // What the body must supply depends on the requisition's lines, so it is checked only once
    // the requisition is known to be convertible (a wrong state is 409, not a list of missing prices).
    const orders = await planOrders(db, requisitionLineRows, body ?? {});
    const before = await toRequisition(db, current);
    const created = [];
    for (const { vendor, shipTo, lines } of orders) {
      const po = await createOrder(ctx, {
        number: null,
        vendor_id: vendor.id,
        currency: vendor.currency,
        notes: null,
        ship_to_warehouse_id: shipTo,
        requisition_id: current.id,
        lines,
      });
      created.push(purchaseOrderEvent('procurement.purchase_order.created', po));
    }
    const requisition = await toRequisition(
      db,
      await updateRequisition(db, current.id, { status: 'ORDERED' }),
    );
    await allInOrder([
      audit({
        action: 'requisition.converted',
        entity: 'requisition',
        entityId: current.id,
        warehouseIds: requisitionWarehouses(requisitionLineRows),
        before,
        after: requisition,
      }),
      insertEvents(db, [
        ...created,
        requisitionEvent('procurement.requisition.ordered', requisition),
      ]),
    ]);
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
