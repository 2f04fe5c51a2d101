import {
  findCollision,
  findVendorItem,
  insertVendorItem,
  listVendorItems,
  lockItemVendorItems,
  unpreferOthers,
  updateVendorItem,
  type PriceBreakRow,
  type VendorItemRow,
  type VendorItemTerms,
} from '../db/vendor-items.ts';
import { allInOrder } from '../db/client.ts';
import { insertEvents } from '../db/outbox.ts';
import { newId } from '../db/ids.ts';
import { BY_ID, keysetKey } from '../db/keyset.ts';
import type { components } from '../generated/api.ts';
import { ProblemError, invalid, notFound, type FieldError } from '../domain/problems.ts';
import { present, withEtag } from './lib/documents.ts';
import {
  currencyErrors,
  itemErrors,
  loadReferences,
  loadVendors,
  vendorErrors,
} from './lib/references.ts';
import { listOrder } from './lib/listing.ts';
import { assertCurrent } from './lib/versioned.ts';
import { vendorItemEvent } from './lib/catalogue.ts';
import type { Context, Handlers } from './types.ts';
import type { ItemRow } from '../db/items.ts';
import { ratioOf } from './lib/units.ts';

type VendorItem = components['schemas']['VendorItem'];
type Body = components['schemas']['VendorItemUpdate'];

export const toVendorItem = ({ units: _, ...row }: VendorItemRow): VendorItem =>
  withEtag(present(row));

/**
 * The 422 errors of a vendor item's terms: its currency, its purchase unit (today the item's own
 * only), its breaks distinct by min_qty, and a preferred one active.
 */
function termErrors(body: Body, item: ItemRow | undefined): FieldError[] {
  const errors = currencyErrors(body.currency, '#/currency');
  if (body.purchase_uom !== undefined && item && !ratioOf(item, body.purchase_uom))
    errors.push({
      pointer: '#/purchase_uom',
      code: 'unknown_uom',
      detail: `${item.id} has no unit ${body.purchase_uom} (its units: ${[item.uom, ...item.uom_conversions.map((c) => c.uom)].join(', ')}).`,
    });
  const seen = new Set<number>();
  body.price_breaks.forEach((b, i) => {
    if (seen.has(b.min_qty))
      errors.push({
        pointer: `#/price_breaks/${i}/min_qty`,
        code: 'duplicate_break',
        detail: `Two price breaks start at ${b.min_qty}.`,
      });
    seen.add(b.min_qty);
  });
  if (body.preferred && !body.active)
    errors.push({
      pointer: '#/preferred',
      code: 'inactive_preferred',
      detail:
        'An inactive vendor item cannot be preferred: replenishment orders from the preferred one.',
    });
  return errors;
}

const termsOf = (body: Body, stockUom: string): VendorItemTerms => ({
  vendor_sku: body.vendor_sku ?? null,
  purchase_uom: body.purchase_uom ?? stockUom,
  min_order_qty: body.min_order_qty ?? null,
  order_multiple: body.order_multiple ?? null,
  lead_time_days: body.lead_time_days,
  currency: body.currency,
  preferred: body.preferred,
  active: body.active,
});

const breaksOf = (body: Pick<Body, 'price_breaks'>): PriceBreakRow[] =>
  [...body.price_breaks].sort((a, b) => a.min_qty - b.min_qty);

/** The audit entries of the vendor items a newly preferred one un-preferred. */
function unpreferredAudits(audit: Context<'createVendorItem'>['audit'], others: VendorItemRow[]) {
  return others.map((other) =>
    audit({
      action: 'vendor_item.updated',
      entity: 'vendor_item',
      entityId: other.id,
      before: toVendorItem({ ...other, preferred: true, version: other.version - 1 }),
      after: toVendorItem(other),
    }),
  );
}

export const vendorItemHandlers = {
  async createVendorItem({ db, body, audit }) {
    const [vendors, refs] = await allInOrder([
      loadVendors(db, [body.vendor_id]),
      loadReferences(db, [body.item_id], []),
    ]);
    const item = refs.items.get(body.item_id);
    const errors = [
      ...vendorErrors(vendors, body.vendor_id, '#/vendor_id'),
      ...itemErrors(refs, body.item_id, '#/item_id'),
      ...termErrors({ preferred: false, active: true, ...body }, item),
    ];
    if (errors.length || !item) throw invalid(errors);
    const id = body.id ?? newId('vi');
    await lockItemVendorItems(db, item.id);
    const collision = await findCollision(db, id, body.vendor_id, body.item_id);
    if (collision)
      throw new ProblemError(
        'already-exists',
        collision.id === id
          ? `A vendor item with id ${id} already exists.`
          : `Vendor ${body.vendor_id} already has a vendor item for ${body.item_id}: ${collision.id} (replace it with PUT).`,
        { id: collision.id },
      );
    const terms = termsOf({ preferred: false, active: true, ...body }, item.uom);
    // Un-prefer first: the unique index allows one preferred per item at any moment.
    const others = terms.preferred ? await unpreferOthers(db, item.id, id) : [];
    const row = await insertVendorItem(
      db,
      { id, vendor_id: body.vendor_id, item_id: body.item_id, ...terms },
      breaksOf(body),
    );
    const vendorItem = toVendorItem(row);
    await allInOrder([
      ...unpreferredAudits(audit, others),
      audit({
        action: 'vendor_item.created',
        entity: 'vendor_item',
        entityId: id,
        after: vendorItem,
      }),
      insertEvents(db, [
        ...others.map((o) => vendorItemEvent('procurement.vendor_item.updated', toVendorItem(o))),
        vendorItemEvent('procurement.vendor_item.created', vendorItem),
      ]),
    ]);
    return {
      status: 201,
      body: vendorItem,
      etag: vendorItem.etag,
      location: `/procurement/vendor-items/${encodeURIComponent(id)}`,
    };
  },

  async getVendorItem({ db, params }) {
    const row = await findVendorItem(db, params.id);
    if (!row) throw notFound('vendor item', params.id);
    const vendorItem = toVendorItem(row);
    return { status: 200, body: vendorItem, etag: vendorItem.etag };
  },

  async replaceVendorItem({ db, params, body, ifMatch, audit }) {
    const found = await findVendorItem(db, params.id);
    if (!found) throw notFound('vendor item', params.id);
    // The item's lock before the row's, in the order creation takes them.
    await lockItemVendorItems(db, found.item_id);
    const current = await findVendorItem(db, params.id, { lock: true });
    if (!current) throw notFound('vendor item', params.id);
    const refs = await loadReferences(db, [current.item_id], []);
    const errors = termErrors(body, refs.items.get(current.item_id));
    if (errors.length) throw invalid(errors);
    assertCurrent(ifMatch, current.version, 'vendor item');
    const stockUom = refs.items.get(current.item_id)?.uom ?? current.purchase_uom;
    const terms = termsOf(body, stockUom);
    const others = terms.preferred ? await unpreferOthers(db, current.item_id, current.id) : [];
    const vendorItem = toVendorItem(await updateVendorItem(db, current.id, terms, breaksOf(body)));
    await allInOrder([
      ...unpreferredAudits(audit, others),
      audit({
        action: 'vendor_item.updated',
        entity: 'vendor_item',
        entityId: vendorItem.id,
        before: toVendorItem(current),
        after: vendorItem,
      }),
      insertEvents(db, [
        ...others.map((o) => vendorItemEvent('procurement.vendor_item.updated', toVendorItem(o))),
        vendorItemEvent('procurement.vendor_item.updated', vendorItem),
      ]),
    ]);
    return { status: 200, body: vendorItem, etag: vendorItem.etag };
  },

  async listVendorItems({ db, query, page }) {
    const keyset = listOrder(BY_ID, query);
    const rows = await listVendorItems(db, {
      vendor_id: query.vendor_id,
      item_id: query.item_id,
      keyset,
      after: page.after,
      limit: page.limit,
    });
    return { status: 200, body: page.result(rows.map(toVendorItem), keysetKey(keyset)) };
  },
} satisfies Pick<
  Handlers,
  'createVendorItem' | 'getVendorItem' | 'replaceVendorItem' | 'listVendorItems'
>;
