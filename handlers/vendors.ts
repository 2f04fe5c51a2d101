import {
  findVendor,
  insertVendor,
  listVendors,
  updateVendor,
  type VendorRow,
} from '../db/vendors.ts';
import { newId } from '../db/ids.ts';
import { BY_ID, keysetKey } from '../db/keyset.ts';
import { ProblemError, invalid, notFound } from '../domain/problems.ts';
import { present, withEtag } from './lib/documents.ts';
import { currencyErrors } from './lib/references.ts';
import { listOrder } from './lib/listing.ts';
import { assertCurrent } from './lib/versioned.ts';
import { allInOrder } from '../db/client.ts';
import { insertEvents } from '../db/outbox.ts';
import { vendorEvent } from './lib/catalogue.ts';
import type { Handlers } from './types.ts';

const toVendor = (row: VendorRow) => withEtag(present(row));

export const vendorHandlers = {
  async createVendor({ db, body, audit }) {
    const errors = currencyErrors(body.currency, '#/currency');
    if (errors.length) throw invalid(errors);
    const id = body.id ?? newId('ven');
    const row = await insertVendor(db, {
      id,
      name: body.name,
      currency: body.currency,
      email: body.email ?? null,
      active: body.active ?? true,
      price_tolerance: body.price_tolerance ?? null,
      qty_tolerance: body.qty_tolerance ?? null,
    });
    if (!row)
      throw new ProblemError('already-exists', `A vendor with id ${id} already exists.`, { id });
    const vendor = toVendor(row);
    await allInOrder([
      audit({ action: 'vendor.created', entity: 'vendor', entityId: id, after: vendor }),
      insertEvents(db, [vendorEvent('procurement.vendor.created', vendor)]),
    ]);
    return {
      status: 201,
      body: vendor,
      etag: vendor.etag,
      location: `/procurement/vendors/${encodeURIComponent(id)}`,
    };
  },

  async getVendor({ db, params }) {
    const row = await findVendor(db, params.id);
    if (!row) throw notFound('vendor', params.id);
    const vendor = toVendor(row);
    return { status: 200, body: vendor, etag: vendor.etag };
  },

  async replaceVendor({ db, params, body, ifMatch, audit }) {
    const current = await findVendor(db, params.id, { lock: true });
    if (!current) throw notFound('vendor', params.id);
    assertCurrent(ifMatch, current.version, 'vendor');
    const errors = currencyErrors(body.currency, '#/currency');
    if (errors.length) throw invalid(errors);
    // A replacement: what it leaves out is cleared, as a PUT of an item does.
    const vendor = toVendor(
      await updateVendor(db, current.id, {
        name: body.name,
        currency: body.currency,
        email: body.email ?? null,
        active: body.active,
        price_tolerance: body.price_tolerance ?? null,
        qty_tolerance: body.qty_tolerance ?? null,
      }),
    );
    await allInOrder([
      audit({
        action: 'vendor.updated',
        entity: 'vendor',
        entityId: vendor.id,
        before: toVendor(current),
        after: vendor,
      }),
      insertEvents(db, [vendorEvent('procurement.vendor.updated', vendor)]),
    ]);
    return { status: 200, body: vendor, etag: vendor.etag };
  },

  async listVendors({ db, query, page }) {
    const keyset = listOrder(BY_ID, query);
    const rows = await listVendors(db, {
      active: query.active,
      keyset,
      after: page.after,
      limit: page.limit,
    });
    return { status: 200, body: page.result(rows.map(toVendor), keysetKey(keyset)) };
  },
} satisfies Pick<Handlers, 'createVendor' | 'getVendor' | 'replaceVendor' | 'listVendors'>;
