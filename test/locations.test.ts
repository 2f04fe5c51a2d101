// Locations inside a warehouse, stock per location and putaway rules (docs/locations.md): CRUD with
// ETags, the 422s with their pointers, races decided by the database (one code per warehouse, one
// writer per ETag, one rule per warehouse and item), and warehouse-restricted tokens.
import t, { type Test } from 'tap';
import type { Sql } from '../db/client.ts';
import { ik, ok } from './helpers/procurement.ts';
import { startServer } from './helpers/server.ts';
import { eventsDispatched } from './helpers/wait.ts';
import { createItem, createWarehouses, posted } from './helpers/stock.ts';

async function payloads(sql: Sql, type: string): Promise<any[]> {
  const rows = await sql<{ payload: any }[]>`
    SELECT payload FROM outbox WHERE type = ${type} ORDER BY seq`;
  return rows.map((r) => r.payload);
}

async function audits(sql: Sql, entity: string): Promise<any[]> {
  return sql`SELECT action, entity_id, warehouse_ids, before, after FROM audit_log
             WHERE entity = ${entity} ORDER BY id`;
}

async function setup(t: Test) {
  const s = await startServer(t);
  const api = s.client();
  await createWarehouses(api, 'WH-A', 'WH-B');
  await createItem(api, 'bolt');
  await createItem(api, 'glue', 'BATCH');
  return { s, api };
}

const createLocation = (
  api: ReturnType<Awaited<ReturnType<typeof setup>>['s']['client']>,
  warehouse: string,
  body: any,
) =>
  api.POST('/inventory/warehouses/{id}/locations', { params: { path: { id: warehouse } }, body });

t.test('locations: create, read, list, replace; DEFAULT is there and stays active', async (t) => {
  const { s, api } = await setup(t);

  const first = await api.GET('/inventory/warehouses/{id}/locations', {
    params: { path: { id: 'WH-A' } },
  });
  t.match(ok(first).data, [
    { code: 'DEFAULT', type: 'STORAGE', pick_order: 0, active: true, etag: '"v1"' },
  ]);
  t.equal(ok(first).data.length, 1, 'a new warehouse has DEFAULT only');

  const made = await createLocation(api, 'WH-A', { code: 'A-01-01', pick_order: 10 });
  t.equal(made.response.status, 201);
  const bin = ok(made);
  t.match(bin, {
    id: /^loc_[0-9A-Z]{26}$/,
    warehouse_id: 'WH-A',
    code: 'A-01-01',
    type: 'STORAGE',
    pick_order: 10,
    active: true,
    etag: '"v1"',
  });
  t.equal(made.response.headers.get('location'), `/inventory/locations/${bin.id}`);
  t.equal(made.response.headers.get('etag'), '"v1"');
  ok(await createLocation(api, 'WH-A', { code: 'RCV-1', type: 'RECEIVING', pick_order: 90 }));
  ok(await createLocation(api, 'WH-A', { code: 'SHP-1', type: 'SHIPPING', active: false }));
  ok(await createLocation(api, 'WH-B', { code: 'A-01-01' }));

  const got = await api.GET('/inventory/locations/{id}', { params: { path: { id: bin.id } } });
  t.same(ok(got), bin);
  t.equal(got.response.headers.get('etag'), '"v1"');
  const unchanged = await s.request(`/inventory/locations/${bin.id}`, {
    headers: { 'if-none-match': '"v1"' },
  });
  t.equal(unchanged.status, 304);
  t.equal(
    (await api.GET('/inventory/locations/{id}', { params: { path: { id: 'loc_nope' } } })).response
      .status,
    404,
  );

  // By code; filters; pages.
  const list = async (query: Record<string, unknown>) =>
    ok(
      await api.GET('/inventory/warehouses/{id}/locations', {
        params: { path: { id: 'WH-A' }, query: query as never },
      }),
    );
  t.same(
    (await list({})).data.map((l) => l.code),
    ['A-01-01', 'DEFAULT', 'RCV-1', 'SHP-1'],
  );
  t.same(
    (await list({ type: 'RECEIVING' })).data.map((l) => l.code),
    ['RCV-1'],
  );
  t.same(
    (await list({ active: false })).data.map((l) => l.code),
    ['SHP-1'],
  );
  const page1 = await list({ limit: 3 });
  t.equal(page1.page.has_more, true);
  const page2 = await list({ limit: 3, cursor: page1.page.next_cursor });
  t.same(
    [...page1.data, ...page2.data].map((l) => l.code),
    ['A-01-01', 'DEFAULT', 'RCV-1', 'SHP-1'],
    'the pages walk every location once',
  );
  t.equal(page2.page.has_more, false);
  const unknown = await api.GET('/inventory/warehouses/{id}/locations', {
    params: { path: { id: 'WH-X' } },
  });
  t.equal(unknown.response.status, 404, 'an unknown warehouse');

  // Replace.
  const put = (id: string, etag: string | undefined, body: object) =>
    s.request(`/inventory/locations/${id}`, {
      method: 'PUT',
      json: body,
      headers: etag ? { 'if-match': etag } : {},
    });
  t.equal(
    (await put(bin.id, undefined, { type: 'STORAGE', pick_order: 5, active: true })).status,
    428,
  );
  const replaced = await put(bin.id, '"v1"', {
    code: 'A-01-01',
    type: 'STORAGE',
    pick_order: 5,
    active: false,
  });
  t.equal(replaced.status, 200);
  t.equal(replaced.headers.get('etag'), '"v2"');
  t.match(await replaced.json(), {
    id: bin.id,
    code: 'A-01-01',
    pick_order: 5,
    active: false,
    etag: '"v2"',
  });
  const stale = await put(bin.id, '"v1"', { type: 'STORAGE', pick_order: 6, active: true });
  t.equal(stale.status, 412);
  t.equal(stale.headers.get('etag'), '"v2"');

  const renamed = await put(bin.id, '"v2"', {
    code: 'A-09-09',
    type: 'STORAGE',
    pick_order: 5,
    active: true,
  });
  t.equal(renamed.status, 422);
  t.match(await renamed.json(), { errors: [{ pointer: '#/code', code: 'immutable' }] });

  const def = (await list({})).data.find((l) => l.code === 'DEFAULT')!;
  const off = await put(def.id, def.etag, { type: 'STORAGE', pick_order: 0, active: false });
  t.equal(off.status, 422);
  t.match(await off.json(), { errors: [{ pointer: '#/active', code: 'default_location' }] });
  const moved = await put(def.id, def.etag, { type: 'RECEIVING', pick_order: 100, active: true });
  t.equal(moved.status, 200, 'DEFAULT takes any other change');
  await t.rejects(
    s.sql`UPDATE locations SET active = false WHERE warehouse_id = 'WH-B' AND code = 'DEFAULT'`,
    { code: '23514' },
    'the table refuses an inactive DEFAULT too',
  );

  // Refused creates change nothing.
  const before = await s.sql`SELECT count(*)::int AS n FROM locations`;
  const duplicate = await createLocation(api, 'WH-A', { code: 'A-01-01' });
  t.equal(duplicate.response.status, 409);
  t.match(duplicate.error, {
    type: 'https://problems.inventory-api.dev/duplicate-code',
    warehouse_id: 'WH-A',
    code: 'A-01-01',
  });
  t.equal(
    (await createLocation(api, 'WH-A', { code: 'DEFAULT' })).response.status,
    409,
    'DEFAULT is taken',
  );
  const bad = await createLocation(api, 'WH-A', { code: '-bad code', type: 'ATTIC' });
  t.equal(bad.response.status, 422);
  t.match(bad.error, { errors: [{ pointer: '#/code' }, { pointer: '#/type' }] });
  t.equal((await createLocation(api, 'WH-X', { code: 'A-01' })).response.status, 404);
  t.same(await s.sql`SELECT count(*)::int AS n FROM locations`, before);

  // Keyed: a retry replays the answer.
  const key = ik();
  const once = await api.POST('/inventory/warehouses/{id}/locations', {
    params: { path: { id: 'WH-B' }, header: key },
    body: { code: 'B-1' },
  });
  const again = await api.POST('/inventory/warehouses/{id}/locations', {
    params: { path: { id: 'WH-B' }, header: key },
    body: { code: 'B-1' },
  });
  t.equal(again.response.headers.get('idempotent-replayed'), 'true');
  t.same(ok(again), ok(once));

  // One event and one audit entry per change, of the location's warehouse.
  const created = await payloads(s.sql, 'inventory.location.created');
  t.equal(created.length, 5, 'created: not for the DEFAULTs the warehouses came with');
  t.same(created[0].warehouse_ids, ['WH-A']);
  t.same(created[0].data, bin);
  const updated = await payloads(s.sql, 'inventory.location.updated');
  t.same(
    updated.map((e) => [e.data.code, e.data.etag]),
    [
      ['A-01-01', '"v2"'],
      ['DEFAULT', '"v2"'],
    ],
  );
  const entries = await audits(s.sql, 'location');
  t.same(
    entries.map((e) => e.action),
    [
      ...Array(4).fill('location.created'),
      'location.updated',
      'location.updated',
      'location.created',
    ],
  );
  t.match(entries[4], {
    entity_id: bin.id,
    warehouse_ids: ['WH-A'],
    before: { active: true },
    after: { active: false },
  });
});

t.test('concurrent creates of one code: exactly one is made', async (t) => {
  const { s, api } = await setup(t);
  const answers = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      api.POST('/inventory/warehouses/{id}/locations', {
        params: { path: { id: 'WH-A' }, ...(i % 2 ? { header: ik() } : {}) },
        body: { code: 'A-01-01', pick_order: i },
      }),
    ),
  );
  t.same(answers.map((a) => a.response.status).sort(), [201, 409, 409, 409, 409, 409, 409, 409]);
  const [{ n }] = await s.sql`
    SELECT count(*)::int AS n FROM locations WHERE warehouse_id = 'WH-A' AND code = 'A-01-01'`;
  t.equal(n, 1);
  t.equal((await payloads(s.sql, 'inventory.location.created')).length, 1, 'one event');
  t.equal((await audits(s.sql, 'location')).length, 1, 'one audit entry');
});

t.test('two writers with one ETag: one wins, the other gets 412', async (t) => {
  const { s, api } = await setup(t);
  const bin = ok(await createLocation(api, 'WH-A', { code: 'A-01-01' }));
  const put = (pick_order: number) =>
    s.request(`/inventory/locations/${bin.id}`, {
      method: 'PUT',
      json: { type: 'STORAGE', pick_order, active: true },
      headers: { 'if-match': bin.etag },
    });
  const both = await Promise.all([put(1), put(2)]);
  t.same(both.map((r) => r.status).sort(), [200, 412]);
  const winner = await both.find((r) => r.status === 200)!.json();
  const [row] = await s.sql`SELECT pick_order, version FROM locations WHERE id = ${bin.id}`;
  t.same(row, { pick_order: winner.pick_order, version: 2 });
  t.equal((await payloads(s.sql, 'inventory.location.updated')).length, 1);
});

t.test('location levels: stock per location, left out at 0, filtered and paged', async (t) => {
  const { s, api } = await setup(t);
  ok(await createLocation(api, 'WH-A', { code: 'A-01-01' }));
  ok(await createLocation(api, 'WH-A', { code: 'A-01-02' }));
  await posted(api, {
    type: 'RECEIPT',
    to_wh: 'WH-A',
    lines: [
      { item_id: 'bolt', qty: 10 },
      { item_id: 'glue', qty: 5, batch: 'B1', expires_at: '2030-01-01T00:00:00.000Z' },
    ],
  });
  await posted(api, { type: 'RECEIPT', to_wh: 'WH-B', lines: [{ item_id: 'bolt', qty: 3 }] });
  // The ledger of this version keeps every unit at DEFAULT; spread them as a put-away would, one
  // statement per item so that its locations sum to its level when each statement ends.
  await s.sql`DELETE FROM location_levels`;
  await s.sql`UPDATE stock_levels SET quality_control = 1 WHERE item_id = 'bolt' AND warehouse_id = 'WH-A'`;
  await s.sql`
    INSERT INTO location_levels (item_id, warehouse_id, location, batch, on_hand, quality_control, damaged)
    VALUES ('bolt', 'WH-A', 'DEFAULT', '', 6, 1, 0), ('bolt', 'WH-A', 'A-01-01', '', 4, 0, 0),
           ('bolt', 'WH-A', 'A-01-02', '', 0, 0, 0)`;
  await s.sql`
    INSERT INTO location_levels (item_id, warehouse_id, location, batch, on_hand)
    VALUES ('glue', 'WH-A', 'A-01-02', 'B1', 5)`;
  await s.sql`
    INSERT INTO location_levels (item_id, warehouse_id, location, batch, on_hand)
    VALUES ('bolt', 'WH-B', 'DEFAULT', '', 3)`;

  const list = async (query: Record<string, unknown>, token?: object) => {
    const res = await s.client(token as never).GET('/inventory/location-levels', {
      params: { query: query as never },
    });
    return res;
  };
  const all = ok(await list({}));
  t.same(
    all.data.map((l) => [l.item_id, l.warehouse_id, l.location, l.batch, l.on_hand]),
    [
      ['bolt', 'WH-A', 'A-01-01', undefined, 4],
      ['bolt', 'WH-A', 'DEFAULT', undefined, 6],
      ['bolt', 'WH-B', 'DEFAULT', undefined, 3],
      ['glue', 'WH-A', 'A-01-02', 'B1', 5],
    ],
    'in key order; the empty A-01-02 of bolt is left out; batch only for batches',
  );
  t.notOk('batch' in all.data[0], 'no batch member for an item not tracked by batch');
  t.match(all.data[1], { quality_control: 1, damaged: 0, updated_at: String });

  t.same(
    ok(await list({ warehouse_id: 'WH-A', location: 'A-01-02' })).data.map((l) => l.item_id),
    ['glue'],
  );
  t.same(ok(await list({ item_id: 'bolt', warehouse_id: 'WH-B' })).data.length, 1);
  const noWarehouse = await list({ location: 'DEFAULT' });
  t.equal(noWarehouse.response.status, 422);
  t.match(noWarehouse.error, {
    errors: [{ pointer: '#/query/location', code: 'location_without_warehouse' }],
  });

  const seen: unknown[] = [];
  let cursor: string | undefined;
  do {
    const page = ok(await list({ limit: 1, ...(cursor ? { cursor } : {}) }));
    seen.push(...page.data);
    cursor = page.page.next_cursor;
  } while (cursor);
  t.same(seen, all.data, 'one row a page walks the same rows');

  // A restricted token sees its warehouses only.
  t.same(
    ok(await list({}, { warehouses: ['WH-B'] })).data.map((l) => l.warehouse_id),
    ['WH-B'],
  );
  t.equal((await list({ warehouse_id: 'WH-A' }, { warehouses: ['WH-B'] })).response.status, 403);
});

t.test('putaway rules: one per warehouse and item, created or replaced, deleted', async (t) => {
  const { s, api } = await setup(t);
  ok(await createLocation(api, 'WH-A', { code: 'A-01-01' }));
  ok(await createLocation(api, 'WH-A', { code: 'A-01-02' }));
  ok(await createLocation(api, 'WH-A', { code: 'OLD', active: false }));
  const set = (body: object, token?: object) =>
    s.client(token as never).POST('/inventory/putaway-rules', { body: body as never });

  const made = await set({ warehouse_id: 'WH-A', item_id: 'bolt', location: 'A-01-01' });
  t.equal(made.response.status, 201);
  const rule = ok(made);
  t.match(rule, { id: /^put_/, warehouse_id: 'WH-A', item_id: 'bolt', location: 'A-01-01' });
  t.equal(made.response.headers.get('location'), `/inventory/putaway-rules/${rule.id}`);

  const replaced = await set({ warehouse_id: 'WH-A', item_id: 'bolt', location: 'A-01-02' });
  t.equal(replaced.response.status, 200, 'the pair has a rule: replaced');
  t.match(ok(replaced), { id: rule.id, location: 'A-01-02', created_at: rule.created_at });
  const same = await set({ warehouse_id: 'WH-A', item_id: 'bolt', location: 'A-01-02' });
  t.equal(same.response.status, 200, 'its own location again: no change');
  t.same(ok(same), ok(replaced));

  // 422s, with pointers; nothing changes.
  const refused = async (body: object, errors: object[]) => {
    const res = await set(body);
    t.equal(res.response.status, 422, JSON.stringify(body));
    t.match(res.error, { errors });
  };
  await refused({ warehouse_id: 'WH-A', item_id: 'nope', location: 'A-01-01' }, [
    { pointer: '#/item_id', code: 'unknown_item' },
  ]);
  await refused({ warehouse_id: 'WH-X', item_id: 'bolt', location: 'A-01-01' }, [
    { pointer: '#/warehouse_id', code: 'unknown_warehouse' },
  ]);
  await refused({ warehouse_id: 'WH-A', item_id: 'bolt', location: 'NOWHERE' }, [
    { pointer: '#/location', code: 'unknown_location' },
  ]);
  await refused({ warehouse_id: 'WH-B', item_id: 'bolt', location: 'A-01-01' }, [
    { pointer: '#/location', code: 'unknown_location' },
  ]);
  await refused({ warehouse_id: 'WH-A', item_id: 'glue', location: 'OLD' }, [
    { pointer: '#/location', code: 'inactive_location' },
  ]);
  await refused({ warehouse_id: 'WH-A', item_id: 'bolt' }, [{ pointer: '#/location' }]);
  t.same(await s.sql`SELECT id, location FROM putaway_rules`, [
    { id: rule.id, location: 'A-01-02' },
  ]);

  ok(await set({ warehouse_id: 'WH-B', item_id: 'bolt', location: 'DEFAULT' }));
  ok(await set({ warehouse_id: 'WH-A', item_id: 'glue', location: 'A-01-01' }));
  const list = async (query: object, token?: object) =>
    s.client(token as never).GET('/inventory/putaway-rules', { params: { query: query as never } });
  t.same(
    ok(await list({})).data.map((r) => [r.warehouse_id, r.item_id]),
    [
      ['WH-A', 'bolt'],
      ['WH-A', 'glue'],
      ['WH-B', 'bolt'],
    ],
  );
  t.same(
    ok(await list({ item_id: 'bolt' })).data.map((r) => r.warehouse_id),
    ['WH-A', 'WH-B'],
  );
  t.same(
    ok(await list({ warehouse_id: 'WH-B' })).data.map((r) => r.item_id),
    ['bolt'],
  );
  const p1 = ok(await list({ limit: 2 }));
  const p2 = ok(await list({ limit: 2, cursor: p1.page.next_cursor }));
  t.same(
    [...p1.data, ...p2.data].map((r) => r.item_id),
    ['bolt', 'glue', 'bolt'],
  );

  t.same(
    ok(await api.GET('/inventory/putaway-rules/{id}', { params: { path: { id: rule.id } } }))
      .location,
    'A-01-02',
  );
  const gone = await api.DELETE('/inventory/putaway-rules/{id}', {
    params: { path: { id: rule.id } },
  });
  t.equal(gone.response.status, 204);
  t.equal(
    (await api.GET('/inventory/putaway-rules/{id}', { params: { path: { id: rule.id } } })).response
      .status,
    404,
  );
  t.equal(
    (await api.DELETE('/inventory/putaway-rules/{id}', { params: { path: { id: rule.id } } }))
      .response.status,
    404,
  );

  t.same(
    (await payloads(s.sql, 'inventory.putaway_rule.created')).map((e) => [
      e.warehouse_ids,
      e.data.item_id,
    ]),
    [
      [['WH-A'], 'bolt'],
      [['WH-B'], 'bolt'],
      [['WH-A'], 'glue'],
    ],
  );
  t.same(
    (await payloads(s.sql, 'inventory.putaway_rule.updated')).map((e) => e.data.location),
    ['A-01-02'],
    'one update: the no-change is not announced',
  );
  t.same(
    (await payloads(s.sql, 'inventory.putaway_rule.deleted')).map((e) => e.data),
    [ok(replaced)],
    'the deleted rule as it was',
  );
  t.same(
    (await audits(s.sql, 'putaway_rule')).map((e) => e.action),
    [
      'putaway_rule.created',
      'putaway_rule.updated',
      'putaway_rule.created',
      'putaway_rule.created',
      'putaway_rule.deleted',
    ],
  );
});

t.test(
  'concurrent putaway rules for one pair: one is created, the others replace it',
  async (t) => {
    const { s, api } = await setup(t);
    const codes = ['A-1', 'A-2', 'A-3', 'A-4', 'A-5', 'A-6'];
    for (const code of codes) ok(await createLocation(api, 'WH-A', { code }));
    const answers = await Promise.all(
      codes.map((location) =>
        api.POST('/inventory/putaway-rules', {
          params: { header: ik() },
          body: { warehouse_id: 'WH-A', item_id: 'bolt', location },
        }),
      ),
    );
    t.same(answers.map((a) => a.response.status).sort(), [200, 200, 200, 200, 200, 201]);
    t.equal(new Set(answers.map((a) => ok(a).id)).size, 1, 'one rule, one id');
    const rows = await s.sql`SELECT id, location FROM putaway_rules`;
    t.equal(rows.length, 1);
    // Each answer is the rule as its request left it; the last to commit decides.
    t.ok(codes.includes(rows[0].location));
    t.equal((await payloads(s.sql, 'inventory.putaway_rule.created')).length, 1);
    t.equal((await payloads(s.sql, 'inventory.putaway_rule.updated')).length, 5);
    const last = (await payloads(s.sql, 'inventory.putaway_rule.updated')).at(-1);
    t.equal(last.data.location, rows[0].location, 'the last event says where it is now');
  },
);

t.test('a token restricted to WH-B sees and changes only its locations and rules', async (t) => {
  const { s, api } = await setup(t);
  const binA = ok(await createLocation(api, 'WH-A', { code: 'A-01-01' }));
  ok(await createLocation(api, 'WH-B', { code: 'B-01-01' }));
  const ruleA = ok(
    await api.POST('/inventory/putaway-rules', {
      body: { warehouse_id: 'WH-A', item_id: 'bolt', location: 'A-01-01' },
    }),
  );
  ok(
    await api.POST('/inventory/putaway-rules', {
      body: { warehouse_id: 'WH-B', item_id: 'bolt', location: 'B-01-01' },
    }),
  );
  const b = s.client({ warehouses: ['WH-B'] });
  const forbidden = (res: { response: Response; error?: unknown }, what: string) => {
    t.equal(res.response.status, 403, what);
    t.match(res.error, {
      type: 'https://problems.inventory-api.dev/warehouse-forbidden',
      warehouse_id: 'WH-A',
    });
  };
  forbidden(
    await b.GET('/inventory/warehouses/{id}/locations', { params: { path: { id: 'WH-A' } } }),
    'list of another warehouse',
  );
  forbidden(
    await b.POST('/inventory/warehouses/{id}/locations', {
      params: { path: { id: 'WH-A' } },
      body: { code: 'X' },
    }),
    'create in another warehouse',
  );
  forbidden(await b.GET('/inventory/locations/{id}', { params: { path: { id: binA.id } } }), 'get');
  forbidden(
    await b.PUT('/inventory/locations/{id}', {
      params: { path: { id: binA.id }, header: { 'If-Match': binA.etag } },
      body: { type: 'STORAGE', pick_order: 0, active: false },
    }),
    'replace',
  );
  forbidden(
    await b.POST('/inventory/putaway-rules', {
      body: { warehouse_id: 'WH-A', item_id: 'glue', location: 'A-01-01' },
    }),
    'set a rule',
  );
  forbidden(
    await b.GET('/inventory/putaway-rules/{id}', { params: { path: { id: ruleA.id } } }),
    'get a rule',
  );
  forbidden(
    await b.DELETE('/inventory/putaway-rules/{id}', { params: { path: { id: ruleA.id } } }),
    'delete a rule',
  );
  forbidden(
    await b.GET('/inventory/putaway-rules', { params: { query: { warehouse_id: 'WH-A' } } }),
    'filter rules',
  );

  t.same(
    ok(
      await b.GET('/inventory/warehouses/{id}/locations', { params: { path: { id: 'WH-B' } } }),
    ).data.map((l) => l.code),
    ['B-01-01', 'DEFAULT'],
  );
  t.same(
    ok(await b.GET('/inventory/putaway-rules', {})).data.map((r) => r.warehouse_id),
    ['WH-B'],
    'rules of its warehouse only',
  );
  t.same(await s.sql`SELECT active FROM locations WHERE id = ${binA.id}`, [{ active: true }]);
  t.equal((await s.sql`SELECT count(*)::int AS n FROM putaway_rules`)[0].n, 2, 'nothing changed');

  // Events and audit entries follow the warehouse.
  await eventsDispatched(s.sql);
  const events = ok(await b.GET('/events', { params: { query: { limit: 200 } } })).data.filter(
    (e) => e.type.startsWith('inventory.location.') || e.type.startsWith('inventory.putaway_rule.'),
  );
  t.same(
    events.map((e) => e.warehouse_ids),
    [['WH-B'], ['WH-B']],
    "the feed shows the restricted token its warehouse's location and rule only",
  );
  const entries = ok(
    await b.GET('/inventory/audit', { params: { query: { entity: 'location' } } }),
  ).data;
  t.same(entries.map((e) => e.entity_id).length, 1, 'its audit entries only');
});
