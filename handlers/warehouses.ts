import {
  insertWarehouse,
  findWarehouse,
  listWarehouses,
  updateWarehouse,
  type Warehouse as WarehouseRow,
} from '../db/warehouses.ts';
import type { components } from '../generated/api.ts';
import { BY_ID, keysetKey } from '../db/keyset.ts';
import { ProblemError, notFound } from '../domain/problems.ts';
import { assertWarehouses } from '../domain/access.ts';
import { listOrder } from './lib/listing.ts';
import { assertCurrent, etagOf } from './lib/versioned.ts';
import { allInOrder } from '../db/client.ts';
import { insertEvents } from '../db/outbox.ts';
import { warehouseEvent } from './lib/catalogue.ts';
import type { Handlers } from './types.ts';

type Warehouse = components['schemas']['Warehouse'];

function toWarehouse(row: WarehouseRow): Warehouse {
  return {
    id: row.id,
    name: row.name,
    active: row.active,
    etag: etagOf(row.version),
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export const warehouseHandlers = {
  async createWarehouse({ db, body, principal, audit }) {
    assertWarehouses(principal, body.id);
    const row = await insertWarehouse(db, {
      id: body.id,
      name: body.name,
      active: body.active ?? true,
    });
    if (!row)
      throw new ProblemError('already-exists', `A warehouse with id ${body.id} already exists.`, {
        id: body.id,
      });
    const warehouse = toWarehouse(row);
    await allInOrder([
      audit({
        action: 'warehouse.created',
        entity: 'warehouse',
        entityId: warehouse.id,
        warehouseIds: [warehouse.id],
        after: warehouse,
      }),
      insertEvents(db, [warehouseEvent('inventory.warehouse.created', warehouse)]),
    ]);
    return {
      status: 201,
      body: warehouse,
      etag: warehouse.etag,
      location: `/inventory/warehouses/${encodeURIComponent(warehouse.id)}`,
    };
  },

  async getWarehouse({ db, params, principal }) {
    assertWarehouses(principal, params.id);
    const row = await findWarehouse(db, params.id);
    if (!row) throw notFound('warehouse', params.id);
    const warehouse = toWarehouse(row);
    return { status: 200, body: warehouse, etag: warehouse.etag };
  },

  async replaceWarehouse({ db, params, body, principal, ifMatch, audit }) {
    assertWarehouses(principal, params.id);
    const current = await findWarehouse(db, params.id, { lock: true });
    if (!current) throw notFound('warehouse', params.id);
    assertCurrent(ifMatch, current.version, 'warehouse');
    // Deactivating refuses only what is made from now on (handlers/lib/references.ts); moves,
    // reservations and documents already made with the warehouse keep working.
    const warehouse = toWarehouse(await updateWarehouse(db, current.id, body));
    await allInOrder([
      audit({
        action: 'warehouse.updated',
        entity: 'warehouse',
        entityId: warehouse.id,
        warehouseIds: [warehouse.id],
        before: toWarehouse(current),
        after: warehouse,
      }),
      insertEvents(db, [warehouseEvent('inventory.warehouse.updated', warehouse)]),
    ]);
    return { status: 200, body: warehouse, etag: warehouse.etag };
  },

  async listWarehouses({ db, query, principal, page }) {
    const keyset = listOrder(BY_ID, query);
    const rows = await listWarehouses(db, {
      active: query.active,
      allowed: principal.warehouses && [...principal.warehouses],
      keyset,
      after: page.after,
      limit: page.limit,
    });
    return { status: 200, body: page.result(rows.map(toWarehouse), keysetKey(keyset)) };
  },
} satisfies Pick<
  Handlers,
  'createWarehouse' | 'getWarehouse' | 'replaceWarehouse' | 'listWarehouses'
>;
