// Vendor returns: goods received against a purchase order go back to the vendor through the
// ledger (one ISSUE move), each line's qty_returned grows within what was received, the match
// compares what is invoiced with what is kept, and a refused return changes nothing.
import t, { type Test } from 'tap';
import type { components } from '../generated/client.ts';
import { checkInvariants } from '../scripts/lib/invariants.ts';
import { databaseFingerprint } from './helpers/db-fingerprint.ts';
import { ik, ok, receive, seedCatalogue, sentPo, createPo } from './helpers/procurement.ts';
import { startServer, type TestServer } from './helpers/server.ts';
import { level, posted, reverse } from './helpers/stock.ts';
import { eventsDispatched } from './helpers/wait.ts';

type PurchaseOrder = components['schemas']['PurchaseOrder'];
type LineInput = components['schemas']['VendorReturnLineInput'];

function returnGoods(
  s: TestServer,
  po: { id: string },
  lines: LineInput[],
  { warehouse_id = 'WH-A', key = ik(), token = {} as Parameters<TestServer['client']>[0] } = {},
) {
  return s.client(token).POST('/procurement/vendor-returns', {
    params: { header: key },
    body: { po_id: po.id, warehouse_id, reason: 'Damaged in transit', lines },
  });
}

async function getPo(s: TestServer, id: string): Promise<PurchaseOrder> {
  return ok(
    await s.client().GET('/procurement/purchase-orders/{id}', { params: { path: { id } } }),
  );
}

/**
 * Every table but the idempotency keys, once the events committed so far are dispatched: a 409 or
 * 422 keeps its key row, to answer a retry with the same refusal (docs/standards.md §4).
 */
async function unchanged(s: TestServer): Promise<Record<string, string>> {
  await eventsDispatched(s.sql);
  const { idempotency_keys: _, ...tables } = await databaseFingerprint(s.sql);
  return tables;
}

async function setup(t: Test) {
  const s = await startServer(t);
  const api = s.client();
  await seedCatalogue(api);
  return { s, api };
}

t.test('a return: stock out through the ledger, qty_returned up, the match nets it', async (t) => {
  const { s, api } = await setup(t);
  const po = await sentPo(api, {
    ship_to_warehouse_id: 'WH-A',
    lines: [{ item_id: 'bolt', qty: 10, unit_price: '0.50' }],
  });
  const line = po.lines[0];
  await receive(api, po, [{ po_line_id: line.id, qty_received: 8 }]);
  ok(
    await api.POST('/procurement/invoices', {
      params: { header: ik() },
      body: {
        po_id: po.id,
        number: 'INV-1',
        lines: [{ po_line_id: line.id, qty: 8, unit_price: '0.50' }],
      },
    }),
  );
  const before = await getPo(s, po.id);

  const res = await returnGoods(s, po, [{ po_line_id: line.id, qty: 3 }]);
  t.equal(res.response.status, 201);
  const ret = ok(res);
  t.equal(res.response.headers.get('location'), `/procurement/vendor-returns/${ret.id}`);
  t.equal(res.response.headers.get('etag'), ret.etag);
  t.match(ret, {
    id: /^vret_/,
    po_id: po.id,
    warehouse_id: 'WH-A',
    reason: 'Damaged in transit',
    stock_move_id: /^sm_/,
    created_by: String,
    lines: [{ po_line_id: line.id, item_id: 'bolt', qty: 3, serials: [] }],
  });

  // Events and audit entries, in the return's transaction (read before anything else happens).
  const events = await s.sql<{ type: string; payload: any }[]>`
    SELECT type, payload FROM outbox ORDER BY seq`;
  const audit = await s.sql<{ action: string; entity_id: string }[]>`
    SELECT action, entity_id FROM audit_log ORDER BY id`;
  t.same(
    events.slice(-4).map((e) => e.type),
    [
      'inventory.stock_move.posted',
      'inventory.stock_level.changed',
      'procurement.vendor_return.posted',
      'procurement.purchase_order.updated',
    ],
  );
  const [movePosted, levelChanged, returnPosted, orderUpdated] = events.slice(-4);
  t.equal(movePosted.payload.data.id, ret.stock_move_id);
  t.match(levelChanged.payload.data, { cause: ret.stock_move_id, on_hand: 5 });
  t.same(returnPosted.payload.data, ret);
  t.same(returnPosted.payload.warehouse_ids, ['WH-A']);
  t.match(orderUpdated.payload.data, { id: po.id, lines: [{ qty_returned: 3 }] });
  t.same(
    audit.slice(-3).map((a) => [a.action, a.entity_id]),
    [
      ['stock_move.posted', ret.stock_move_id],
      ['vendor_return.posted', ret.id],
      ['purchase_order.returned', po.id],
    ],
  );

  t.equal((await level(api, 'bolt', 'WH-A'))?.on_hand, 5, 'the goods left the warehouse');
  const after = await getPo(s, po.id);
  t.match(after.lines[0], { qty_received: 8, qty_returned: 3, qty_cancelled: 0 });
  t.equal(after.status, 'SENT', 'the order keeps its status');
  t.equal(after.receipt_progress, 'PARTIAL', 'the line does not reopen: 2 are still open, not 5');
  t.not(after.etag, before.etag, 'the order changed: its ETag too');

  const move = ok(
    await api.GET('/inventory/stock-moves/{id}', { params: { path: { id: ret.stock_move_id } } }),
  );
  t.match(move, {
    type: 'ISSUE',
    from_wh: 'WH-A',
    reference: po.number,
    reason: new RegExp(ret.id),
    lines: [{ item_id: 'bolt', qty: 3 }],
  });
  t.notOk('to_wh' in move);

  const match = ok(
    await api.GET('/procurement/purchase-orders/{id}/match', { params: { path: { id: po.id } } }),
  );
  t.match(match, {
    status: 'EXCEPTION',
    lines: [
      {
        received: 5,
        invoiced: 8,
        status: 'EXCEPTION',
        reasons: [{ code: 'qty_invoiced_exceeds_received' }],
      },
    ],
  });
  ok(
    await api.POST('/procurement/invoices', {
      params: { header: ik() },
      body: {
        po_id: po.id,
        number: 'CN-1',
        type: 'CREDIT_NOTE',
        lines: [{ po_line_id: line.id, qty: 3, unit_price: '0.50' }],
      },
    }),
  );
  const settled = ok(
    await api.GET('/procurement/purchase-orders/{id}/match', { params: { path: { id: po.id } } }),
  );
  t.match(settled.lines[0], { received: 5, invoiced: 5, status: 'MATCHED' });

  const got = await s.request(`/procurement/vendor-returns/${ret.id}`);
  t.equal(got.status, 200);
  t.equal(got.headers.get('etag'), ret.etag);
  t.same(await got.json(), ret, 'GET shows it as it was answered');
  const cached = await s.request(`/procurement/vendor-returns/${ret.id}`, {
    headers: { 'If-None-Match': ret.etag },
  });
  t.equal(cached.status, 304);
  t.equal((await s.request('/procurement/vendor-returns/vret_nope')).status, 404);

  const reversed = await reverse(api, ret.stock_move_id);
  t.equal(reversed.response.status, 409, "the return's move is not reversed on its own");
  t.match(reversed.error, {
    type: /invalid-state$/,
    detail: new RegExp(`vendor return ${ret.id}`),
  });

  const entries = ok(
    await api.GET('/inventory/audit', {
      params: { query: { entity: 'vendor_return', entity_id: ret.id } },
    }),
  );
  t.equal(entries.data.length, 1, 'the audit list shows the return');
});

t.test('RECEIVED and CLOSED orders take returns of what was received', async (t) => {
  const { s, api } = await setup(t);
  const po = await sentPo(api, { lines: [{ item_id: 'bolt', qty: 4, unit_price: '0.50' }] });
  const line = po.lines[0];
  await receive(api, po, [{ po_line_id: line.id, qty_received: 4 }]);
  t.equal((await getPo(s, po.id)).status, 'RECEIVED');
  ok(await returnGoods(s, po, [{ po_line_id: line.id, qty: 1 }]));
  const received = await getPo(s, po.id);
  t.match(received, { status: 'RECEIVED', receipt_progress: 'FULL' });
  t.match(received.lines[0], { qty_received: 4, qty_returned: 1 });

  ok(
    await api.POST('/procurement/purchase-orders/{id}/close', {
      params: { path: { id: po.id }, header: { ...ik(), 'If-Match': received.etag } },
    }),
  );
  ok(await returnGoods(s, po, [{ po_line_id: line.id, qty: 2 }]));
  const closed = await getPo(s, po.id);
  t.match(closed, { status: 'CLOSED', closed_reason: 'COMPLETED' });
  t.match(closed.lines[0], { qty_returned: 3 });
  t.equal((await level(api, 'bolt', 'WH-A'))?.on_hand, 1);
});

t.test('batch and serial items', async (t) => {
  const { s, api } = await setup(t);
  const po = await sentPo(api, {
    ship_to_warehouse_id: 'WH-A',
    lines: [
      { item_id: 'glue', qty: 10, unit_price: '7.90' },
      { item_id: 'drill', qty: 3, unit_price: '99.00' },
    ],
  });
  const [glue, drill] = po.lines;
  await receive(api, po, [
    { po_line_id: glue.id, qty_received: 4, batch: 'B-LATE', expires_at: '2028-01-01T00:00:00Z' },
    { po_line_id: glue.id, qty_received: 3, batch: 'B-SOON', expires_at: '2027-01-01T00:00:00Z' },
    { po_line_id: drill.id, qty_received: 3, serials: ['D1', 'D2', 'D3'] },
  ]);

  const named = ok(await returnGoods(s, po, [{ po_line_id: glue.id, qty: 1, batch: 'B-LATE' }]));
  t.match(named.lines, [{ batch: 'B-LATE', qty: 1 }]);
  const fefo = ok(await returnGoods(s, po, [{ po_line_id: glue.id, qty: 4 }]));
  t.notOk('batch' in fefo.lines[0], 'no batch named: none shown on the return');
  const fefoMove = ok(
    await api.GET('/inventory/stock-moves/{id}', {
      params: { path: { id: fefo.stock_move_id } },
    }),
  );
  t.match(
    fefoMove.lines,
    [
      { batch: 'B-SOON', qty: 3 },
      { batch: 'B-LATE', qty: 1 },
    ],
    'without a batch, the batches expiring first go (FEFO)',
  );
  const glueLevel = await level(api, 'glue', 'WH-A');
  t.equal(glueLevel?.on_hand, 2);
  t.match(glueLevel?.batches, [{ batch: 'B-LATE', on_hand: 2 }]);

  const serial = ok(await returnGoods(s, po, [{ po_line_id: drill.id, qty: 1, serials: ['D2'] }]));
  t.match(serial.lines, [{ item_id: 'drill', qty: 1, serials: ['D2'] }]);
  const [d2] = await s.sql`SELECT status, warehouse_id FROM serials WHERE serial = 'D2'`;
  t.match(d2, { status: 'ISSUED', warehouse_id: null }, 'the serial left the warehouse');
  const lines = (await getPo(s, po.id)).lines;
  t.match(lines, [
    { qty_received: 7, qty_returned: 5 },
    { qty_received: 3, qty_returned: 1 },
  ]);

  // The tracking rules of an issue, at the return's own pointers.
  const noSerials = await returnGoods(s, po, [{ po_line_id: drill.id, qty: 1 }]);
  t.equal(noSerials.response.status, 422);
  t.match(noSerials.error, { errors: [{ pointer: '#/lines/0/serials', code: 'serial_count' }] });
  const batchOnBolt = await returnGoods(s, po, [
    { po_line_id: drill.id, qty: 1, serials: ['D1'], batch: 'X' },
  ]);
  t.match(batchOnBolt.error, { errors: [{ pointer: '#/lines/0/batch', code: 'not_allowed' }] });
  const goneBatch = await returnGoods(s, po, [{ po_line_id: glue.id, qty: 1, batch: 'B-SOON' }]);
  t.equal(goneBatch.response.status, 409);
  t.match(goneBatch.error, { type: /over-issuance$/, batch: 'B-SOON', available: 0 });
  t.same((await checkInvariants(s.sql)).violations, [], 'the invariants hold');
});

t.test('refusals: the right problem, and nothing changes', async (t) => {
  const { s, api } = await setup(t);
  const po = await sentPo(api, {
    ship_to_warehouse_id: 'WH-A',
    lines: [
      { item_id: 'bolt', qty: 10, unit_price: '0.50' },
      { item_id: 'drill', qty: 3, unit_price: '99.00' },
    ],
  });
  const [bolt, drill] = po.lines;
  await receive(api, po, [
    { po_line_id: bolt.id, qty_received: 8 },
    { po_line_id: drill.id, qty_received: 3, serials: ['D1', 'D2', 'D3'] },
  ]);
  ok(await returnGoods(s, po, [{ po_line_id: bolt.id, qty: 2 }]));
  const draft = await createPo(api, { ship_to_warehouse_id: 'WH-A' });
  const other = await sentPo(api);
  // D3 goes to WH-B, 5 bolts are used up: WH-A keeps 1 bolt, D1 and D2.
  await posted(api, {
    type: 'TRANSFER',
    from_wh: 'WH-A',
    to_wh: 'WH-B',
    lines: [{ item_id: 'drill', qty: 1, serials: ['D3'] }],
  });
  await posted(api, { type: 'ISSUE', from_wh: 'WH-A', lines: [{ item_id: 'bolt', qty: 5 }] });

  const cases: [string, () => ReturnType<typeof returnGoods>, number, Record<string, unknown>][] = [
    [
      'unknown order',
      () => returnGoods(s, { id: 'po_nope' }, [{ po_line_id: bolt.id, qty: 1 }]),
      422,
      { errors: [{ pointer: '#/po_id', code: 'unknown_purchase_order' }] },
    ],
    [
      'a DRAFT order',
      () => returnGoods(s, draft, [{ po_line_id: draft.lines[0].id, qty: 1 }]),
      409,
      {
        type: /invalid-state$/,
        current_status: 'DRAFT',
        allowed_statuses: ['SENT', 'RECEIVED', 'CLOSED'],
      },
    ],
    [
      'a warehouse the order does not ship to',
      () => returnGoods(s, po, [{ po_line_id: bolt.id, qty: 1 }], { warehouse_id: 'WH-B' }),
      422,
      { errors: [{ pointer: '#/warehouse_id', code: 'warehouse_mismatch' }] },
    ],
    [
      'an unknown warehouse',
      () => returnGoods(s, po, [{ po_line_id: bolt.id, qty: 1 }], { warehouse_id: 'WH-Z' }),
      422,
      { errors: [{ pointer: '#/warehouse_id', code: 'unknown_warehouse' }] },
    ],
    [
      'a line of another order',
      () => returnGoods(s, po, [{ po_line_id: other.lines[0].id, qty: 1 }]),
      422,
      { errors: [{ pointer: '#/lines/0/po_line_id', code: 'unknown_po_line' }] },
    ],
    [
      'more than received less returned',
      () =>
        returnGoods(s, po, [
          { po_line_id: bolt.id, qty: 4 },
          { po_line_id: bolt.id, qty: 3 },
        ]),
      409,
      { type: /over-return$/, po_line_id: bolt.id, received: 8, returned: 2, requested: 7 },
    ],
    [
      'a serial now in another warehouse',
      () => returnGoods(s, po, [{ po_line_id: drill.id, qty: 1, serials: ['D3'] }]),
      422,
      { errors: [{ pointer: '#/lines/0/serials/0', code: 'serial_not_in_stock' }] },
    ],
    [
      'a serial never received',
      () => returnGoods(s, po, [{ po_line_id: drill.id, qty: 1, serials: ['D9'] }]),
      422,
      { errors: [{ pointer: '#/lines/0/serials/0', code: 'serial_not_in_stock' }] },
    ],
    [
      'stock issued elsewhere since',
      () => returnGoods(s, po, [{ po_line_id: bolt.id, qty: 2 }]),
      409,
      { type: /over-issuance$/, item_id: 'bolt', warehouse_id: 'WH-A', requested: 2, available: 1 },
    ],
    [
      'without procurement:write',
      () =>
        returnGoods(s, po, [{ po_line_id: bolt.id, qty: 1 }], {
          token: { scope: 'inventory:read inventory:write' },
        }),
      403,
      { type: /insufficient-scope$/, required_scopes: ['procurement:write'] },
    ],
    [
      "out of a warehouse outside the token's claim",
      () =>
        returnGoods(s, po, [{ po_line_id: bolt.id, qty: 1 }], { token: { warehouses: ['WH-B'] } }),
      403,
      { type: /warehouse-forbidden$/, warehouse_id: 'WH-A' },
    ],
    [
      'without an Idempotency-Key',
      async () => {
        // Through fetch: the SDK would add a key.
        const response = await s.request('/procurement/vendor-returns', {
          method: 'POST',
          json: {
            po_id: po.id,
            warehouse_id: 'WH-A',
            reason: 'No key',
            lines: [{ po_line_id: bolt.id, qty: 1 }],
          },
        });
        return { response, error: await response.json() } as any;
      },
      400,
      { type: /idempotency-key-missing$/ },
    ],
  ];

  await eventsDispatched(s.sql);
  const before = await unchanged(s);
  for (const [what, attempt, status, problem] of cases) {
    const res = await attempt();
    t.equal(res.response.status, status, `${what}: ${status}`);
    t.match(res.error, problem, what);
  }
  t.strictSame(await unchanged(s), before, 'no table changed');

  // A refused return's key keeps its refusal (docs/standards.md §4): a retry is answered the same.
  const key = ik();
  const refused = await returnGoods(s, po, [{ po_line_id: bolt.id, qty: 9 }], { key });
  const replayed = await returnGoods(s, po, [{ po_line_id: bolt.id, qty: 9 }], { key });
  t.equal(replayed.response.headers.get('idempotent-replayed'), 'true');
  t.same([replayed.response.status, replayed.error], [409, refused.error]);

  // An inactive warehouse takes no return (what it holds stays there).
  const wh = ok(await api.GET('/inventory/warehouses/{id}', { params: { path: { id: 'WH-A' } } }));
  ok(
    await api.PUT('/inventory/warehouses/{id}', {
      params: { path: { id: 'WH-A' }, header: { 'If-Match': wh.etag as string } },
      body: { name: wh.name, active: false },
    }),
  );
  const inactive = await unchanged(s);
  const res = await returnGoods(s, po, [{ po_line_id: bolt.id, qty: 1 }]);
  t.equal(res.response.status, 422);
  t.match(res.error, { errors: [{ pointer: '#/warehouse_id', code: 'inactive_warehouse' }] });
  t.strictSame(await unchanged(s), inactive, 'no table changed');
});

t.test('an Idempotency-Key replays the same return: one stock move', async (t) => {
  const { s, api } = await setup(t);
  const po = await sentPo(api, { lines: [{ item_id: 'bolt', qty: 10, unit_price: '0.50' }] });
  await receive(api, po, [{ po_line_id: po.lines[0].id, qty_received: 5 }]);
  const key = ik();
  const first = await returnGoods(s, po, [{ po_line_id: po.lines[0].id, qty: 2 }], { key });
  const again = await returnGoods(s, po, [{ po_line_id: po.lines[0].id, qty: 2 }], { key });
  t.equal(first.response.status, 201);
  t.equal(again.response.status, 201);
  t.equal(again.response.headers.get('idempotent-replayed'), 'true');
  t.same(again.data, first.data, 'the same return');
  const [{ n }] = await s.sql`
    SELECT count(*)::int AS n FROM stock_moves WHERE type = 'ISSUE' AND reference = ${po.number}`;
  t.equal(n, 1, 'one stock move');
  t.equal((await getPo(s, po.id)).lines[0].qty_returned, 2);
  t.equal((await level(api, 'bolt', 'WH-A'))?.on_hand, 3);
});

t.test('lists: newest first, paged, by order, by warehouse', async (t) => {
  const { s, api } = await setup(t);
  const poA = await sentPo(api, { ship_to_warehouse_id: 'WH-A' });
  const poB = await sentPo(api, { ship_to_warehouse_id: 'WH-B' });
  await receive(api, poA, [{ po_line_id: poA.lines[0].id, qty_received: 10 }]);
  await receive(api, poB, [{ po_line_id: poB.lines[0].id, qty_received: 10 }], 'WH-B');
  const made: string[] = [];
  for (let i = 0; i < 5; i++) {
    const po = i % 2 ? poB : poA;
    const warehouse_id = i % 2 ? 'WH-B' : 'WH-A';
    made.push(
      ok(await returnGoods(s, po, [{ po_line_id: po.lines[0].id, qty: 1 }], { warehouse_id })).id,
    );
  }

  const walk = async (query: Record<string, string>, token = {}) => {
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = ok(
        await s.client(token).GET('/procurement/vendor-returns', {
          params: { query: { limit: 2, ...query, ...(cursor && { cursor }) } as any },
        }),
      );
      t.ok(page.data.length <= 2);
      ids.push(...page.data.map((r) => r.id));
      cursor = page.page.has_more ? page.page.next_cursor : undefined;
    } while (cursor);
    return ids;
  };
  t.same(await walk({}), [...made].reverse(), 'newest first, every page');
  t.same(await walk({ order: 'asc' }), made, 'order=asc: oldest first');
  t.same(await walk({ po_id: poB.id }), [made[3], made[1]], 'po_id filters');
  t.same(await walk({}, { warehouses: ['WH-B'] }), [made[3], made[1]], "a WH-B token sees WH-B's");
  t.same(await walk({ po_id: poA.id }, { warehouses: ['WH-B'] }), [], 'and none of WH-A');
  const hidden = await s.client({ warehouses: ['WH-B'] }).GET('/procurement/vendor-returns/{id}', {
    params: { path: { id: made[0] } },
  });
  t.equal(hidden.response.status, 403);
  t.match(hidden.error, { type: /warehouse-forbidden$/ });
  const bad = await s.request('/procurement/vendor-returns?cursor=forged');
  t.equal(bad.status, 422);
});

t.test('concurrent returns on one line never return more than was received', async (t) => {
  const { s, api } = await setup(t);
  const po = await sentPo(api, {
    ship_to_warehouse_id: 'WH-A',
    lines: [{ item_id: 'bolt', qty: 100, unit_price: '0.50' }],
  });
  const line = po.lines[0];
  await receive(api, po, [{ po_line_id: line.id, qty_received: 30 }]);

  const N = 24;
  const results = await Promise.all(
    Array.from({ length: N }, () => returnGoods(s, po, [{ po_line_id: line.id, qty: 2 }])),
  );
  const statuses = results.map((r) => r.response.status);
  t.equal(statuses.filter((x) => x === 201).length, 15, 'exactly 30 / 2 returns posted');
  t.equal(statuses.filter((x) => x === 409).length, N - 15, 'the others: 409');
  for (const r of results)
    if (r.response.status === 409) t.match(r.error, { type: /over-return$/ });
  t.notOk(
    statuses.some((x) => x >= 500),
    'no 5xx',
  );

  const after = await getPo(s, po.id);
  const [{ sum }] = await s.sql`
    SELECT coalesce(sum(l.qty), 0)::float AS sum FROM vendor_return_lines l
    JOIN vendor_returns r ON r.id = l.vendor_return_id WHERE r.po_id = ${po.id}`;
  t.equal(after.lines[0].qty_returned, sum, 'qty_returned is the sum of the posted returns');
  t.equal(sum, 30);
  const [{ ledger }] = await s.sql`
    SELECT coalesce(sum(CASE WHEN m.to_wh = 'WH-A' THEN l.qty ELSE -l.qty END), 0)::float AS ledger
    FROM stock_move_lines l JOIN stock_moves m ON m.id = l.move_id
    WHERE l.item_id = 'bolt' AND (m.to_wh = 'WH-A' OR m.from_wh = 'WH-A')`;
  const onHand = (await level(api, 'bolt', 'WH-A'))?.on_hand;
  t.equal(onHand, ledger, 'on_hand is what the ledger says');
  t.equal(onHand, 0);
  t.same((await checkInvariants(s.sql)).violations, [], 'the invariants hold');
});

t.test(
  'returns racing receipts and issues of the same stock: the figures stay those of the documents',
  async (t) => {
    const { s, api } = await setup(t);
    const po = await sentPo(api, {
      ship_to_warehouse_id: 'WH-A',
      lines: [{ item_id: 'bolt', qty: 40, unit_price: '0.50' }],
    });
    const line = po.lines[0];
    await receive(api, po, [{ po_line_id: line.id, qty_received: 10 }]);

    const results = await Promise.all([
      ...Array.from({ length: 20 }, () => returnGoods(s, po, [{ po_line_id: line.id, qty: 1 }])),
      ...Array.from({ length: 10 }, () =>
        api.POST('/procurement/receipts', {
          params: { header: ik() },
          body: {
            po_id: po.id,
            warehouse_id: 'WH-A',
            lines: [{ po_line_id: line.id, qty_received: 1 }],
          },
        }),
      ),
      ...Array.from({ length: 8 }, () =>
        api.POST('/inventory/stock-moves', {
          params: { header: ik() },
          body: { type: 'ISSUE', from_wh: 'WH-A', lines: [{ item_id: 'bolt', qty: 1 }] },
        }),
      ),
    ]);
    const statuses = results.map((r) => r.response.status);
    t.same(
      statuses.filter((x) => x !== 201 && x !== 409),
      [],
      'each is posted or refused with a 409 (over-return, over-issuance), never a 5xx',
    );
    const returns = results.slice(0, 20);
    for (const r of returns)
      if (r.response.status === 409) t.match(r.error, { type: /(over-return|over-issuance)$/ });
    t.equal(
      results.slice(20, 30).filter((r) => r.response.status === 201).length,
      10,
      'every receipt is posted',
    );

    const after = await getPo(s, po.id);
    const posted = returns.filter((r) => r.response.status === 201).length;
    t.match(after.lines[0], { qty_received: 20, qty_returned: posted });
    const issued = results.slice(30).filter((r) => r.response.status === 201).length;
    t.equal(
      (await level(api, 'bolt', 'WH-A'))?.on_hand,
      20 - posted - issued,
      'on_hand: received less returned less issued',
    );
    t.same((await checkInvariants(s.sql)).violations, [], 'the invariants hold');
  },
);
