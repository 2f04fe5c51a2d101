import { findVendor, insertVendor, listVendors } from '../db/vendors.ts';
import { newId } from '../db/ids.ts';
import { BY_ID, keysetKey } from '../db/keyset.ts';
import { ProblemError, invalid, notFound } from '../domain/problems.ts';
import { present } from './lib/documents.ts';
import { currencyErrors } from './lib/references.ts';
import { listOrder } from './lib/listing.ts';
import { allInOrder } from '../db/client.ts';
import { insertEvents } from '../db/outbox.ts';
import { vendorEvent } from './lib/catalogue.ts';
import type { Handlers } from './types.ts';

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
    });
    if (!row)
      throw new ProblemError('already-exists', `A vendor with id ${id} already exists.`, { id });
    const vendor = present(row);
    await allInOrder([
      audit({ action: 'vendor.created', entity: 'vendor', entityId: id, after: vendor }),
      insertEvents(db, [vendorEvent('procurement.vendor.created', vendor)]),
    ]);
    return {
      status: 201,
      body: vendor,
      location: `/procurement/vendors/${encodeURIComponent(id)}`,
    };
  },

  async getVendor({ db, params }) {
    const row = await findVendor(db, params.id);
    if (!row) throw notFound('vendor', params.id);
    return { status: 200, body: present(row) };
  },

  async listVendors({ db, query, page }) {
    const keyset = listOrder(BY_ID, query);
    const rows = await listVendors(db, {
      active: query.active,
      keyset,
      after: page.after,
      limit: page.limit,
    });
    return { status: 200, body: page.result(rows.map(present), keysetKey(keyset)) };
  },
} satisfies Pick<Handlers, 'createVendor' | 'getVendor' | 'listVendors'>;
