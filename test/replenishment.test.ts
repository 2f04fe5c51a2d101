// Reorder rules and replenishment runs: what a run suggests (projected = available + incoming +
// on_order, rounded to the preferred vendor's minimum and multiple, priced from its break), the
// requisition → approve → convert chain it feeds, and the races and refusals around them.
import t from 'tap';
import { ik, ok, seedCatalogue, sentPo } from './helpers/procurement.ts';
import { startServer, type TestServer } from './helpers/server.ts';
import { posted, reserve } from './helpers/stock.ts';
import type { components } from '../generated/client.ts';

type Run = components['schemas']['ReplenishmentRun'];

/** The catalogue, bolt's vendor item (MOQ 24, multiple 12) and a MIN_MAX rule 20/100 at WH-A. */
async function setUp(s: TestServer) {
  const api = s.client();
  await seedCatalogue(api);
  ok(
    await api.POST('/procurement/vendor-items', {
      params: { header: ik() },
      body: {
        vendor_id: 'ven_fast',
        item_id: 'bolt',
        min_order_qty: 24,
        order_multiple: 12,
        lead_time_days: 7,
        currency: 'EUR',
        price_breaks: [
          { min_qty: 24, unit_price: '0.50' },
          { min_qty: 96, unit_price: '0.45' },
        ],
        preferred: true,
      },
    }),
  );
  return ok(
    await api.POST('/inventory/reorder-rules', {
      params: { header: ik() },
      body: { item_id: 'bolt', warehouse_id: 'WH-A', policy: 'MIN_MAX', min_qty: 20, max_qty: 100 },
    }),
  );
}

function run(s: TestServer, body?: { warehouse_id?: string }, token = {}) {
  return s.client(token).POST('/procurement/replenishment-runs', {
    params: { header: ik() },
    ...(body && { body }),
  });
}

async function suggestions(s: TestServer, r: Run) {
  return ok(
    await s.client().GET('/procurement/replenishment-runs/{id}/suggestions', {
      params: { path: { id: r.id } },
    }),
  ).data;
}

function toRequisition(s: TestServer, r: Run, body?: { suggestion_ids?: string[] }) {
  return s.client().POST('/procurement/replenishment-runs/{id}/requisition', {
    params: { path: { id: r.id }, header: ik() },
    ...(body && { body }),
  });
}

const inDays = (days: number) =>
  new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

t.test(
  'MIN_MAX 20/100, 15 on hand, 3 reserved, MOQ 24, multiple 12: 96; then incoming covers it',
  async (t) => {
    const s = await startServer(t);
    const api = s.client();
    const rule = await setUp(s);
    await posted(api, { type: 'RECEIPT', to_wh: 'WH-A', lines: [{ item_id: 'bolt', qty: 15 }] });
    ok(await reserve(api, { item_id: 'bolt', warehouse_id: 'WH-A', qty: 3 }));

    // Nothing incoming or on order: projected = 15 − 3 − 0 = 12 < 20.
    const first = await run(s);
    t.equal(first.response.status, 201);
    t.match(first.data, { id: /^rpl_/, created_at: String, suggestion_count: 1 });
    t.equal(
      first.response.headers.get('location'),
      `/procurement/replenishment-runs/${first.data!.id}`,
    );
    const [suggestion] = await suggestions(s, first.data!);
    t.same(
      suggestion,
      {
        id: `${first.data!.id}-000001`,
        item_id: 'bolt',
        warehouse_id: 'WH-A',
        vendor_id: 'ven_fast',
        // 100 − 12 = 88, up to a multiple of 12 that is at least 24: 96.
        qty: 96,
        uom: 'EA',
        uom_qty: 96,
        unit_price: '0.45',
        currency: 'EUR',
        needed_by: inDays(7),
        basis: {
          rule_id: rule.id,
          policy: 'MIN_MAX',
          on_hand: 15,
          reserved: 3,
          held: 0,
          incoming: 0,
          on_order: 0,
          min_qty: 20,
          max_qty: 100,
        },
      },
      'one suggestion of 96 from the preferred vendor, at the 96+ break',
    );
    t.same(
      ok(
        await api.GET('/procurement/replenishment-runs/{id}', {
          params: { path: { id: first.data!.id } },
        }),
      ),
      first.data,
    );

    // 10 incoming (a SENT order of 10 to WH-A, from a vendor without minimum): projected = 22 ≥ 20.
    await sentPo(api, {
      vendor_id: 'ven_tools',
      ship_to_warehouse_id: 'WH-A',
      lines: [{ item_id: 'bolt', qty: 10, unit_price: '0.60' }],
    });
    const [level] = await s.sql`
    SELECT on_hand::float8, reserved::float8, incoming::float8 FROM stock_levels
    WHERE item_id = 'bolt' AND warehouse_id = 'WH-A'`;
    t.same(level, { on_hand: 15, reserved: 3, incoming: 10 });
    const second = await run(s);
    t.equal(second.data!.suggestion_count, 0, 'projected 22 ≥ 20: nothing to suggest');
    t.same(await suggestions(s, second.data!), []);
  },
);

t.test(
  'the requisition → approve → convert chain makes a DRAFT PO of 96; a second run suggests nothing',
  async (t) => {
    const s = await startServer(t);
    const api = s.client();
    const approver = s.client({ sub: 'approver' });
    await setUp(s);
    await posted(api, { type: 'RECEIPT', to_wh: 'WH-A', lines: [{ item_id: 'bolt', qty: 15 }] });
    ok(await reserve(api, { item_id: 'bolt', warehouse_id: 'WH-A', qty: 3 }));
    const first = ok(await run(s));
    const made = await toRequisition(s, first);
    t.equal(made.response.status, 201);
    const requisition = made.data!;
    t.match(requisition, { status: 'DRAFT', requester_id: String });
    t.same(
      requisition.lines.map(({ id: _, ...l }) => l),
      [
        {
          item_id: 'bolt',
          qty: 96,
          vendor_id: 'ven_fast',
          unit_price: '0.45',
          needed_by: inDays(7),
          warehouse_id: 'WH-A',
        },
      ],
      'a warehouse-bearing line per suggestion',
    );
    t.match(await suggestions(s, first), [{ requisition_id: requisition.id }]);
    // A DRAFT requisition is not on order yet: a run now would suggest again.
    t.equal(ok(await run(s)).suggestion_count, 1);
    const approved = ok(
      await approver.POST('/procurement/requisitions/{id}/approve', {
        params: { path: { id: requisition.id }, header: { ...ik(), 'If-Match': requisition.etag } },
      }),
    );
    // APPROVED: on order.
    const whileApproved = ok(await run(s));
    t.equal(whileApproved.suggestion_count, 0, 'an APPROVED requisition is on order');
    const converted = ok(
      await api.POST('/procurement/requisitions/{id}/convert', {
        params: { path: { id: requisition.id }, header: { ...ik(), 'If-Match': approved.etag } },
      }),
    );
    const [poId] = converted.purchase_order_ids;
    const po = ok(
      await api.GET('/procurement/purchase-orders/{id}', { params: { path: { id: poId } } }),
    );
    t.match(po, {
      status: 'DRAFT',
      vendor_id: 'ven_fast',
      ship_to_warehouse_id: 'WH-A',
      currency: 'EUR',
    });
    t.same(
      po.lines.map((l) => [l.item_id, l.qty, l.unit_price]),
      [['bolt', 96, '0.45']],
      'a DRAFT order of 96 shipping to WH-A, priced from the applicable break',
    );
    const after = ok(await run(s));
    t.equal(
      after.suggestion_count,
      0,
      'the DRAFT order is on order: a second run suggests nothing',
    );
    const [{ on_order }] = await s.sql`
    SELECT on_order::float8 FROM replenishment_suggestions WHERE run_id = ${first.id}`;
    t.equal(on_order, 0);
  },
);

t.test('a due reservation not yet expired is not counted as reserved', async (t) => {
  // No sweeper: the due reservation stays ACTIVE in the table, its quantity in the stored figure.
  const s = await startServer(t, { env: { RESERVATION_SWEEP_S: '0' } });
  const api = s.client();
  await setUp(s);
  await posted(api, { type: 'RECEIPT', to_wh: 'WH-A', lines: [{ item_id: 'bolt', qty: 15 }] });
  ok(await reserve(api, { item_id: 'bolt', warehouse_id: 'WH-A', qty: 3 }));
  await s.sql.begin(async (tx) => {
    await tx`
      INSERT INTO reservations (id, item_id, warehouse_id, qty, status, expires_at, created_by)
      VALUES ('res_due', 'bolt', 'WH-A', 5, 'ACTIVE', now() - interval '1 minute', 'test')`;
    await tx`UPDATE stock_levels SET reserved = reserved + 5 WHERE item_id = 'bolt' AND warehouse_id = 'WH-A'`;
  });
  const level = ok(
    await api.GET('/inventory/stock-levels', {
      params: { query: { item_id: 'bolt', warehouse_id: 'WH-A' } },
    }),
  );
  t.equal(level.data[0].reserved, 3, 'the level read counts 3');
  const [suggestion] = await suggestions(s, (await run(s)).data!);
  t.match(suggestion.basis, { on_hand: 15, reserved: 3 }, 'and so does the run: 15 − 3 = 12');
  t.equal(suggestion.qty, 96);
});

t.test('REORDER_POINT, purchase units, no vendor item, warehouse filter', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  await setUp(s);
  ok(
    await api.POST('/inventory/items', {
      body: {
        id: 'screw',
        sku: 'SCREW',
        name: 'Screw',
        uom: 'EA',
        track_by: 'NONE',
        integral: true,
        uom_conversions: [{ uom: 'BOX', numerator: 100, denominator: 1 }],
      },
    }),
  );
  ok(
    await api.POST('/procurement/vendor-items', {
      params: { header: ik() },
      body: {
        vendor_id: 'ven_fast',
        item_id: 'screw',
        purchase_uom: 'BOX',
        min_order_qty: 2,
        lead_time_days: 3,
        currency: 'EUR',
        price_breaks: [{ min_qty: 1, unit_price: '9.00' }],
        preferred: true,
      },
    }),
  );
  const rule = async (body: components['schemas']['ReorderRuleCreate']) =>
    ok(await api.POST('/inventory/reorder-rules', { params: { header: ik() }, body }));
  // 150 screws = 1.5 boxes, at least 2 boxes: 200.
  await rule({
    item_id: 'screw',
    warehouse_id: 'WH-B',
    policy: 'REORDER_POINT',
    min_qty: 10,
    reorder_qty: 150,
  });
  // No vendor item for glue: the need itself, in stock units, no vendor.
  await rule({
    item_id: 'glue',
    warehouse_id: 'WH-B',
    policy: 'MIN_MAX',
    min_qty: 5,
    max_qty: 12.5,
  });
  const onlyB = ok(await run(s, { warehouse_id: 'WH-B' }));
  t.equal(onlyB.warehouse_id, 'WH-B');
  const made = await suggestions(s, onlyB);
  t.same(
    made.map((x) => [x.item_id, x.vendor_id, x.qty, x.uom, x.uom_qty, x.unit_price, x.needed_by]),
    [
      ['glue', undefined, 12.5, 'EA', 12.5, undefined, inDays(0)],
      ['screw', 'ven_fast', 200, 'BOX', 2, '9.00', inDays(3)],
    ],
  );
  const requisition = ok(await toRequisition(s, onlyB));
  t.same(
    requisition.lines.map((l) => [l.item_id, l.qty, l.vendor_id, l.unit_price]),
    [
      ['glue', 12.5, undefined, undefined],
      ['screw', 200, 'ven_fast', '0.09'],
    ],
    'the price per stock unit, exactly',
  );
  // Every warehouse: bolt at WH-A too.
  t.equal(ok(await run(s)).suggestion_count, 3);
});

t.test(
  'reorder rules: validation, one per item and warehouse, restricted tokens, events',
  async (t) => {
    const s = await startServer(t);
    const api = s.client();
    const rule = await setUp(s);
    const create = (body: any, token = {}) =>
      s.client(token).POST('/inventory/reorder-rules', { params: { header: ik() }, body });
    const bad = await create({
      item_id: 'nope',
      warehouse_id: 'WH-Z',
      policy: 'MIN_MAX',
      min_qty: 20,
      max_qty: 10,
      reorder_qty: 5,
    });
    t.same(
      (bad.error as any).errors.map((e: any) => [e.pointer, e.code]),
      [
        ['#/item_id', 'unknown_item'],
        ['#/warehouse_id', 'unknown_warehouse'],
        ['#/reorder_qty', 'not_allowed'],
        ['#/max_qty', 'max_below_min'],
      ],
    );
    const noQty = await create({
      item_id: 'bolt',
      warehouse_id: 'WH-B',
      policy: 'REORDER_POINT',
      min_qty: 1,
    });
    t.match((noQty.error as any).errors, [{ pointer: '#/reorder_qty', code: 'required' }]);
    const twice = await create({
      item_id: 'bolt',
      warehouse_id: 'WH-A',
      policy: 'MIN_MAX',
      min_qty: 1,
      max_qty: 2,
    });
    t.equal(twice.response.status, 409);
    t.match(twice.error, { id: rule.id });
    // Restricted to WH-B: WH-A's rule is not theirs.
    const b = { warehouses: ['WH-B'] };
    t.equal(
      (
        await create(
          { item_id: 'bolt', warehouse_id: 'WH-A', policy: 'MIN_MAX', min_qty: 1, max_qty: 2 },
          b,
        )
      ).response.status,
      403,
    );
    t.equal(
      (
        await s
          .client(b)
          .GET('/inventory/reorder-rules/{id}', { params: { path: { id: rule.id } } })
      ).response.status,
      403,
    );
    t.same(ok(await s.client(b).GET('/inventory/reorder-rules', {})).data, []);
    t.equal(
      (await run(s, undefined, b)).response.status,
      422,
      'a restricted run names its warehouse',
    );
    t.equal((await run(s, { warehouse_id: 'WH-A' }, b)).response.status, 403);
    const everywhere = ok(await run(s));
    t.equal(
      (
        await s
          .client(b)
          .GET('/procurement/replenishment-runs/{id}', { params: { path: { id: everywhere.id } } })
      ).response.status,
      403,
      'a run of every warehouse is unassigned',
    );
    // PUT and DELETE.
    const stale = await api.PUT('/inventory/reorder-rules/{id}', {
      params: { path: { id: rule.id }, header: { 'If-Match': '"v7"' } },
      body: { policy: 'REORDER_POINT', min_qty: 5, reorder_qty: 48 },
    });
    t.equal(stale.response.status, 412);
    const replaced = ok(
      await api.PUT('/inventory/reorder-rules/{id}', {
        params: { path: { id: rule.id }, header: { 'If-Match': rule.etag } },
        body: { policy: 'REORDER_POINT', min_qty: 5, reorder_qty: 48 },
      }),
    );
    t.match(replaced, { policy: 'REORDER_POINT', reorder_qty: 48, etag: '"v2"' });
    t.notOk('max_qty' in replaced);
    const gone = await api.DELETE('/inventory/reorder-rules/{id}', {
      params: { path: { id: rule.id }, header: { 'If-Match': replaced.etag } },
    });
    t.equal(gone.response.status, 204);
    t.equal(
      (await api.GET('/inventory/reorder-rules/{id}', { params: { path: { id: rule.id } } }))
        .response.status,
      404,
    );
    const events = await s.sql`
    SELECT type, warehouse_ids FROM outbox WHERE type LIKE 'inventory.reorder_rule.%' ORDER BY seq`;
    t.same(
      events.map((e) => [e.type, e.warehouse_ids]),
      [
        ['inventory.reorder_rule.created', ['WH-A']],
        ['inventory.reorder_rule.updated', ['WH-A']],
        ['inventory.reorder_rule.deleted', ['WH-A']],
      ],
    );
    t.equal(ok(await run(s)).suggestion_count, 0, 'a deleted rule suggests nothing');
  },
);

t.test('races: two runs at once; one run requisitioned twice with different keys', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  await setUp(s);
  await posted(api, { type: 'RECEIPT', to_wh: 'WH-A', lines: [{ item_id: 'bolt', qty: 15 }] });
  const runs = await Promise.all([run(s), run(s)]);
  t.same(
    runs.map((r) => [r.response.status, r.data!.suggestion_count]),
    [
      [201, 1],
      [201, 1],
    ],
    'runs are snapshots: both suggest the same',
  );
  t.not(runs[0].data!.id, runs[1].data!.id);
  const [a] = runs.map((r) => r.data!);
  const twice = await Promise.all([toRequisition(s, a), toRequisition(s, a)]);
  t.same(
    twice.map((r) => r.response.status).sort(),
    [201, 422],
    'a suggestion goes on one requisition: the second request finds nothing left',
  );
  const refused = twice.find((r) => r.response.status === 422)!;
  t.match((refused.error as any).errors, [{ pointer: '#', code: 'nothing_to_requisition' }]);
  const [{ n }] = await s.sql`SELECT count(*)::int AS n FROM requisitions`;
  t.equal(n, 1, 'one requisition');
  const again = await toRequisition(s, a, { suggestion_ids: [`${a.id}-000001`, `${a.id}-000009`] });
  t.same(
    (again.error as any).errors.map((e: any) => [e.pointer, e.code]),
    [
      ['#/suggestion_ids/0', 'already_requisitioned'],
      ['#/suggestion_ids/1', 'unknown_suggestion'],
    ],
  );
  // The same key replays the first answer.
  const key = ik();
  const [x, y] = await Promise.all(
    [0, 1].map(() =>
      api.POST('/procurement/replenishment-runs/{id}/requisition', {
        params: { path: { id: runs[1].data!.id }, header: key },
      }),
    ),
  );
  t.same([x.response.status, y.response.status], [201, 201]);
  t.equal(x.data!.id, y.data!.id, 'one requisition for one key');
  t.equal(
    (
      await api.GET('/procurement/replenishment-runs/{id}', {
        params: { path: { id: 'rpl_nope' } },
      })
    ).response.status,
    404,
  );
});

t.test(
  'runs refused and skipped: unknown warehouse, inactive items; suggestions page by page',
  async (t) => {
    const s = await startServer(t);
    const api = s.client();
    await setUp(s);
    const unknown = await run(s, { warehouse_id: 'WH-Z' });
    t.equal(unknown.response.status, 422);
    t.match((unknown.error as any).errors, [
      { pointer: '#/warehouse_id', code: 'unknown_warehouse' },
    ]);
    const [{ n: runs }] = await s.sql`SELECT count(*)::int AS n FROM replenishment_runs`;
    t.equal(runs, 0, 'nothing was made');
    t.equal(
      (
        await api.POST('/procurement/replenishment-runs/{id}/requisition', {
          params: { path: { id: 'rpl_nope' }, header: ik() },
        })
      ).response.status,
      404,
    );
    ok(
      await api.POST('/inventory/reorder-rules', {
        params: { header: ik() },
        body: {
          item_id: 'glue',
          warehouse_id: 'WH-A',
          policy: 'REORDER_POINT',
          min_qty: 1,
          reorder_qty: 10,
        },
      }),
    );
    const both = ok(await run(s, { warehouse_id: 'WH-A' }));
    t.equal(both.suggestion_count, 2);
    const first = ok(
      await api.GET('/procurement/replenishment-runs/{id}/suggestions', {
        params: { path: { id: both.id }, query: { limit: 1 } },
      }),
    );
    t.same(
      first.data.map((x) => x.item_id),
      ['bolt'],
    );
    t.equal(first.page.has_more, true);
    const second = ok(
      await api.GET('/procurement/replenishment-runs/{id}/suggestions', {
        params: { path: { id: both.id }, query: { limit: 1, cursor: first.page.next_cursor } },
      }),
    );
    t.same(
      second.data.map((x) => x.item_id),
      ['glue'],
    );
    // An inactive item is not replenished.
    const glue = ok(await api.GET('/inventory/items/{id}', { params: { path: { id: 'glue' } } }));
    ok(
      await api.PUT('/inventory/items/{id}', {
        params: { path: { id: 'glue' }, header: { 'If-Match': glue.etag } },
        body: {
          sku: glue.sku,
          name: glue.name,
          uom: glue.uom,
          track_by: glue.track_by,
          active: false,
        },
      }),
    );
    t.equal(ok(await run(s, { warehouse_id: 'WH-A' })).suggestion_count, 1);
    // Only some suggestions: the rest stay for another requisition.
    const part = ok(await toRequisition(s, both, { suggestion_ids: [`${both.id}-000002`] }));
    t.same(
      part.lines.map((l) => l.item_id),
      ['glue'],
    );
    const rest = ok(await toRequisition(s, both));
    t.same(
      rest.lines.map((l) => l.item_id),
      ['bolt'],
    );
  },
);
