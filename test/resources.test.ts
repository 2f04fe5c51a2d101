// Warehouses and items through the generated SDK: create, get, list with filters, PUT, conflicts,
// and the audit entries every change writes.
import t from 'tap';
import { startServer } from './helpers/server.ts';

t.test('warehouses', async (t) => {
  const s = await startServer(t);
  const api = s.client({ sub: 'alice' });
  const created = await api.POST('/inventory/warehouses', { body: { id: 'WH-A', name: 'Main' } });
  t.equal(created.response.status, 201);
  t.equal(created.response.headers.get('location'), '/inventory/warehouses/WH-A');
  t.match(created.data, { id: 'WH-A', name: 'Main', active: true });
  t.match(created.data!.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const dup = await api.POST('/inventory/warehouses', { body: { id: 'WH-A', name: 'Again' } });
  t.equal(dup.response.status, 409);
  t.match(dup.error, { type: 'https://problems.inventory-api.dev/already-exists', id: 'WH-A' });
  await api.POST('/inventory/warehouses', { body: { id: 'WH-B', name: 'Old', active: false } });
  t.strictSame(
    (
      await api.GET('/inventory/warehouses', { params: { query: { active: false } } })
    ).data!.data.map((w) => w.id),
    ['WH-B'],
  );
  t.equal(
    (await api.GET('/inventory/warehouses/{id}', { params: { path: { id: 'WH-Z' } } })).response
      .status,
    404,
  );
  const [audit] =
    await s.sql`SELECT actor, action, entity, entity_id, warehouse_ids, before, after FROM audit_log WHERE entity_id = 'WH-A'`;
  t.match(audit, {
    actor: 'alice',
    action: 'warehouse.created',
    entity: 'warehouse',
    warehouse_ids: ['WH-A'],
    before: null,
    after: { id: 'WH-A', name: 'Main' },
  });
});

t.test('items', async (t) => {
  const s = await startServer(t);
  const api = s.client({ sub: 'bob' });
  await api.POST('/inventory/warehouses', { body: { id: 'WH-A', name: 'Main' } });
  const bolt = await api.POST('/inventory/items', {
    body: { id: 'sku-1', sku: 'SKU-1', name: 'Hex bolt M8', uom: 'EA', track_by: 'NONE' },
  });
  t.equal(bolt.response.status, 201);
  t.equal(bolt.response.headers.get('location'), '/inventory/items/sku-1');
  const glue = await api.POST('/inventory/items', {
    body: { sku: 'GLUE-500', name: 'Epoxy glue', uom: 'EA', track_by: 'BATCH' },
  });
  t.match(glue.data!.id, /^itm_[0-9A-Z]{26}$/, 'a server-made id when none is given');
  await api.POST('/inventory/items', {
    body: {
      id: 'drill',
      sku: 'DRILL-18V',
      name: 'Cordless drill',
      uom: 'EA',
      track_by: 'SERIAL',
      active: false,
    },
  });

  t.test('sku is unique, case-insensitively', async (t) => {
    const dup = await api.POST('/inventory/items', {
      body: { sku: 'sku-1', name: 'Other', uom: 'EA', track_by: 'NONE' },
    });
    t.equal(dup.response.status, 409);
    t.match(dup.error, { type: 'https://problems.inventory-api.dev/duplicate-sku', sku: 'sku-1' });
    const sameId = await api.POST('/inventory/items', {
      body: { id: 'sku-1', sku: 'NEW', name: 'Other', uom: 'EA', track_by: 'NONE' },
    });
    t.match(sameId.error, { type: 'https://problems.inventory-api.dev/already-exists' });
  });

  t.test('search, active and warehouse filters', async (t) => {
    const ids = async (query: Record<string, unknown>) =>
      (await api.GET('/inventory/items', { params: { query } })).data!.data.map((i) => i.id);
    t.strictSame(await ids({ search: 'BOLT' }), ['sku-1'], 'name, case-insensitive');
    t.strictSame(await ids({ search: 'glue-5' }), [glue.data!.id], 'sku substring');
    t.strictSame(await ids({ search: '%' }), [], 'LIKE wildcards are literal');
    t.strictSame(await ids({ active: false }), ['drill']);
    t.strictSame(await ids({ warehouse: 'WH-A' }), [], 'no stock anywhere yet');
    await s.sql`INSERT INTO stock_levels (item_id, warehouse_id, on_hand) VALUES ('sku-1', 'WH-A', 5)`;
    t.strictSame(await ids({ warehouse: 'WH-A' }), ['sku-1']);
  });

  t.test(
    'PUT replaces fields, bumps the ETag, and writes before/after to the audit log',
    async (t) => {
      const res = await api.PUT('/inventory/items/{id}', {
        params: { path: { id: 'drill' }, header: { 'If-Match': '"v1"' } },
        body: {
          sku: 'DRILL-18V',
          name: 'Cordless drill 18 V',
          uom: 'EA',
          track_by: 'SERIAL',
          active: true,
        },
      });
      t.equal(res.response.status, 200);
      t.match(res.data, { name: 'Cordless drill 18 V', active: true, etag: '"v2"' });
      const [audit] =
        await s.sql`SELECT actor, action, before, after FROM audit_log WHERE entity_id = 'drill' AND action = 'item.updated'`;
      t.match(audit, {
        actor: 'bob',
        before: { name: 'Cordless drill', etag: '"v1"' },
        after: { name: 'Cordless drill 18 V', etag: '"v2"' },
      });
    },
  );

  t.test('track_by cannot change once the item has stock', async (t) => {
    const res = await api.PUT('/inventory/items/{id}', {
      params: { path: { id: 'sku-1' }, header: { 'If-Match': '"v1"' } },
      body: { sku: 'SKU-1', name: 'Hex bolt M8', uom: 'EA', track_by: 'BATCH', active: true },
    });
    t.equal(res.response.status, 409);
    t.match(res.error, { type: 'https://problems.inventory-api.dev/invalid-state' });
  });

  t.test('PUT to a taken sku → 409 duplicate-sku; to an unknown item → 404', async (t) => {
    const taken = await api.PUT('/inventory/items/{id}', {
      params: { path: { id: 'sku-1' }, header: { 'If-Match': '"v1"' } },
      body: { sku: 'glue-500', name: 'x', uom: 'EA', track_by: 'NONE', active: true },
    });
    t.equal(taken.response.status, 409);
    const missing = await api.PUT('/inventory/items/{id}', {
      params: { path: { id: 'nope' }, header: { 'If-Match': '"v1"' } },
      body: { sku: 'X', name: 'x', uom: 'EA', track_by: 'NONE', active: true },
    });
    t.equal(missing.response.status, 404);
  });
});
