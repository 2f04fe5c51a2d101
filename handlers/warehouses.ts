import { insertWarehouse, findWarehouse, listWarehouses } from '../db/warehouses.ts';
import { BY_ID, keysetKey } from '../db/keyset.ts';
import { ProblemError, notFound } from '../domain/problems.ts';
import { assertWarehouses } from '../domain/access.ts';
import { listOrder } from './lib/listing.ts';
import { allInOrder } from '../db/client.ts';
import { insertEvents } from '../db/outbox.ts';
import { warehouseEvent } from './lib/catalogue.ts';
import type { Handlers } from './types.ts';

export const warehouseHandlers = {
  async createWarehouse({ db, body, principal, audit }) {
    assertWarehouses(principal, body.id);
    const warehouse = await insertWarehouse(db, {
      id: body.id,
      name: body.name,
      active: body.active ?? true,
    });
    if (!warehouse)
      throw new ProblemError('already-exists', `A warehouse with id ${body.id} already exists.`, {
        id: body.id,
      });
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
      location: `/inventory/warehouses/${encodeURIComponent(warehouse.id)}`,
    };
  },

  async getWarehouse({ db, params, principal }) {
    assertWarehouses(principal, params.id);
    const warehouse = await findWarehouse(db, params.id);
    if (!warehouse) throw notFound('warehouse', params.id);
    return { status: 200, body: warehouse };
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
    return { status: 200, body: page.result(rows, keysetKey(keyset)) };
  },
} satisfies Pick<Handlers, 'createWarehouse' | 'getWarehouse' | 'listWarehouses'>;
