// Incoming stock on the levels (what SENT purchase orders still have open for the warehouse they
// ship to), kept exact by every change of an order, and the availability timeline and ATP read
// from it: each transition, the events, the failures, racing requests and the migration's backfill.
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { migrate, MIGRATIONS_DIR } from '../db/migrate.ts';
import { checkInvariants } from '../scripts/lib/invariants.ts';
import { freshDatabase } from './helpers/db.ts';
import { createPo, ik, ok, receive, seedCatalogue, sendPo, sentPo } from './helpers/procurement.ts';
import { startServer, type TestServer } from './helpers/server.ts';
import { schemaValidator } from './helpers/webhooks.ts';
import type { components } from '../generated/client.ts';

type PurchaseOrder = components['schemas']['PurchaseOrder'];
type LineInput = components['schemas']['PurchaseOrderRevisionCreate']['lines'][number];

/** The level's incoming and undated incoming as the list shows them; [0, 0] without a level. */
async function incoming(s: TestServer, item_id: string, warehouse_id: string) {
  const { data } = ok(
    await s
      .client()
      .GET('/inventory/stock-levels', { params: { query: { item_id, warehouse_id } } }),
  );
  return data.length ? [data[0].incoming, data[0].undated_incoming] : [0, 0];
}

async function getPo(s: TestServer, id: string): Promise<PurchaseOrder> {
  return ok(
    await s.client().GET('/procurement/purchase-orders/{id}', { params: { path: { id } } }),
  );
}

const asInput = (po: PurchaseOrder): LineInput[] =>
  po.lines.map(({ id, item_id, qty, unit_price, expected_at }) => ({
    id,
    item_id,
    qty,
    unit_price,
    ...(expected_at === undefined ? {} : { expected_at }),
  }));

function revise(s: TestServer, po: PurchaseOrder, lines: LineInput[]) {
  return s.client().POST('/procurement/purchase-orders/{id}/revisions', {
    params: { path: { id: po.id }, header: { ...ik(), 'If-Match': po.etag } },
    body: { reason: 'Vendor confirmation', lines },
  });
}

function cancelRemaining(s: TestServer, po: PurchaseOrder, lineId: string) {
  return s.client().POST('/procurement/purchase-orders/{id}/lines/{line_id}/cancel-remaining', {
    params: { path: { id: po.id, line_id: lineId }, header: { ...ik(), 'If-Match': po.etag } },
  });
}

function close(s: TestServer, po: PurchaseOrder) {
  return s.client().POST('/procurement/purchase-orders/{id}/close', {
    params: { path: { id: po.id }, header: { ...ik(), 'If-Match': po.etag } },
  });
}

function reverse(s: TestServer, receipt: { id: string; etag: string }) {
  return s.client().POST('/procurement/receipts/{id}/reverse', {
    params: { path: { id: receipt.id }, header: { ...ik(), 'If-Match': receipt.etag } },
    body: {},
  });
}

/** The incoming figures the level events caused by `cause` showed, in order. */
async function levelEvents(s: TestServer, cause: string) {
  const rows = await s.sql<{ data: any }[]>`
    SELECT payload->'data' AS data FROM outbox
    WHERE type = 'inventory.stock_level.changed' AND payload->'data'->>'cause' = ${cause}
    ORDER BY seq`;
  return rows.map((r) => [
    r.data.item_id,
    r.data.warehouse_id,
    r.data.incoming,
    r.data.undated_incoming,
  ]);
}

async function noViolations(t: Test, s: TestServer) {
  const report = await checkInvariants(s.sql);
  t.same(report.violations, [], 'every invariant holds (incoming = open quantity of SENT orders)');
}

const TWO_LINES = {
  ship_to_warehouse_id: 'WH-A',
  lines: [
    { item_id: 'bolt', qty: 10, unit_price: '0.50', expected_at: '2027-01-15' },
    { item_id: 'bolt', qty: 6, unit_price: '0.60' },
  ],
};

t.test(
  'send, receipts, reversal, cancel-remaining: incoming follows; events carry it',
  async (t) => {
    const s = await startServer(t);
    const api = s.client({ sub: 'alice' });
    await seedCatalogue(api);
    const draft = await createPo(api, TWO_LINES);
    t.same(await incoming(s, 'bolt', 'WH-A'), [0, 0], 'a DRAFT counts nowhere');
    const po = await sendPo(api, draft);
    t.same(await incoming(s, 'bolt', 'WH-A'), [16, 6], 'sent: both lines, the undated one apart');
    t.same(await levelEvents(s, po.id), [['bolt', 'WH-A', 16, 6]], 'the send sends the level');
    const level = ok(
      await s.client().GET('/inventory/stock-levels', {
        params: { query: { item_id: 'bolt', warehouse_id: 'WH-A' } },
      }),
    ).data[0];
    t.match(level, { on_hand: 0, available: 0, incoming: 16 }, 'a level listed for its incoming');

    const first = await receive(api, po, [{ po_line_id: po.lines[0].id, qty_received: 4 }]);
    t.same(await incoming(s, 'bolt', 'WH-A'), [12, 6], 'a receipt lowers it');
    const moved = await levelEvents(s, first.stock_move_id as string);
    t.same(moved, [['bolt', 'WH-A', 12, 6]], "the receipt's level event shows it lowered");
    const undated = await receive(api, po, [{ po_line_id: po.lines[1].id, qty_received: 2 }]);
    t.same(await incoming(s, 'bolt', 'WH-A'), [10, 4], 'undated too');

    const reversed = ok(await reverse(s, first));
    t.same(await incoming(s, 'bolt', 'WH-A'), [14, 4], 'a reversal raises it again');
    t.same(await levelEvents(s, reversed.reversed_by_move as string), [['bolt', 'WH-A', 14, 4]]);

    // Everything received: RECEIVED, nothing incoming; reversing takes it back to SENT.
    const rest = await receive(api, po, [
      { po_line_id: po.lines[0].id, qty_received: 10 },
      { po_line_id: po.lines[1].id, qty_received: 4 },
    ]);
    t.equal((await getPo(s, po.id)).status, 'RECEIVED');
    t.same(await incoming(s, 'bolt', 'WH-A'), [0, 0], 'RECEIVED: nothing open');
    ok(await reverse(s, rest));
    t.equal((await getPo(s, po.id)).status, 'SENT');
    t.same(await incoming(s, 'bolt', 'WH-A'), [14, 4], 'SENT again: open again');

    const sent = await getPo(s, po.id);
    ok(await cancelRemaining(s, sent, po.lines[1].id));
    t.same(await incoming(s, 'bolt', 'WH-A'), [10, 0], 'cancel-remaining drops the line');
    t.same((await levelEvents(s, po.id)).at(-1), ['bolt', 'WH-A', 10, 0]);
    ok(await close(s, await getPo(s, po.id)));
    t.same(await incoming(s, 'bolt', 'WH-A'), [0, 0], 'close drops the rest');
    t.same((await levelEvents(s, po.id)).at(-1), ['bolt', 'WH-A', 0, 0]);
    t.ok(undated);
    // Every level event an order caused is a StockLevelChange, as the spec says.
    const validate = schemaValidator('StockLevelChange');
    const caused = await s.sql<{ data: unknown }[]>`
      SELECT payload->'data' AS data FROM outbox
      WHERE type = 'inventory.stock_level.changed' AND payload->'data'->>'cause' = ${po.id}`;
    t.ok(caused.length >= 3);
    for (const { data } of caused) t.equal(validate(data), null, 'a valid StockLevelChange');
    await noViolations(t, s);
  },
);

t.test(
  'revisions: qty up and down, lines added and removed, expected_at set and cleared',
  async (t) => {
    const s = await startServer(t);
    const api = s.client({ sub: 'alice' });
    await seedCatalogue(api);
    let po = await sentPo(api, TWO_LINES);
    const step = async (lines: LineInput[], want: number[], what: string) => {
      po = ok(await revise(s, po, lines));
      t.same(await incoming(s, 'bolt', 'WH-A'), want, what);
      t.same(
        (await levelEvents(s, po.id)).filter((e) => e[0] === 'bolt').at(-1),
        ['bolt', 'WH-A', ...want],
        `${what}: event`,
      );
    };
    const [dated, undated] = asInput(po);
    await step([{ ...dated, qty: 12 }, undated], [18, 6], 'qty up');
    await step([{ ...dated, qty: 8 }, undated], [14, 6], 'qty down');
    await step(
      [dated, undated, { item_id: 'bolt', qty: 5, unit_price: '0.40' }].map((l, i) =>
        i === 0 ? { ...l, qty: 8 } : l,
      ),
      [19, 11],
      'a line added (undated)',
    );
    await step([{ ...dated, qty: 8 }, undated], [14, 6], 'a line removed');
    const { expected_at: _, ...cleared } = dated;
    await step([{ ...cleared, qty: 8 }, undated], [14, 14], 'expected_at cleared');
    await step(
      [{ ...cleared, qty: 8, expected_at: '2027-02-01' }, undated],
      [14, 6],
      'expected_at set',
    );
    await step(
      [
        { ...cleared, qty: 8, expected_at: '2027-02-01' },
        { item_id: 'glue', qty: 3, unit_price: '1.00' },
      ],
      [8, 0],
      'a line replaced by another item',
    );
    t.same(await incoming(s, 'glue', 'WH-A'), [3, 3], 'the other item gains it');
    await noViolations(t, s);
  },
);

t.test('orders without a ship-to warehouse count nowhere; DRAFT counts nowhere', async (t) => {
  const s = await startServer(t);
  const api = s.client({ sub: 'alice' });
  await seedCatalogue(api);
  const po = await sentPo(api, { lines: TWO_LINES.lines });
  await createPo(api, TWO_LINES);
  const [{ n }] = await s.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM stock_levels WHERE incoming > 0`;
  t.equal(n, 0);
  t.same(await levelEvents(s, po.id), [], 'no level event');
  await noViolations(t, s);
});

t.test('availability timeline and ATP', async (t) => {
  const s = await startServer(t);
  const api = s.client({ sub: 'alice' });
  await seedCatalogue(api);
  ok(
    await api.POST('/inventory/stock-moves', {
      params: { header: ik() },
      body: { type: 'RECEIPT', to_wh: 'WH-A', lines: [{ item_id: 'bolt', qty: 5 }] },
    }),
  );
  ok(
    await api.POST('/inventory/reservations', {
      params: { header: ik() },
      body: { item_id: 'bolt', warehouse_id: 'WH-A', qty: 1 },
    }),
  );
  await sentPo(api, {
    ship_to_warehouse_id: 'WH-A',
    lines: [
      { item_id: 'bolt', qty: 4, unit_price: '1', expected_at: '2027-03-01' },
      { item_id: 'bolt', qty: 3, unit_price: '1', expected_at: '2027-01-15' },
      { item_id: 'bolt', qty: 2, unit_price: '1' },
    ],
  });
  await sentPo(api, {
    ship_to_warehouse_id: 'WH-A',
    lines: [{ item_id: 'bolt', qty: 1.5, unit_price: '1', expected_at: '2027-01-15' }],
  });
  // Another warehouse, and a DRAFT: neither is in WH-A's timeline.
  await sentPo(api, {
    ship_to_warehouse_id: 'WH-B',
    lines: [{ item_id: 'bolt', qty: 50, unit_price: '1', expected_at: '2027-01-01' }],
  });
  await createPo(api, {
    ship_to_warehouse_id: 'WH-A',
    lines: [{ item_id: 'bolt', qty: 50, unit_price: '1', expected_at: '2027-01-01' }],
  });
  const query = { item_id: 'bolt', warehouse_id: 'WH-A' };
  const a = ok(await api.GET('/inventory/availability', { params: { query } }));
  t.same(a, {
    item_id: 'bolt',
    warehouse_id: 'WH-A',
    on_hand: 5,
    available: 4,
    undated_incoming: 2,
    timeline: [
      { date: '2027-01-15', incoming: 4.5, projected_available: 8.5 },
      { date: '2027-03-01', incoming: 4, projected_available: 12.5 },
    ],
  });
  const until = ok(
    await api.GET('/inventory/availability', {
      params: { query: { ...query, until: '2027-02-28' } },
    }),
  );
  t.same(until.timeline, [a.timeline[0]], 'until leaves later dates out');
  const none = ok(
    await api.GET('/inventory/availability', {
      params: { query: { item_id: 'glue', warehouse_id: 'WH-A' } },
    }),
  );
  t.same(
    none,
    {
      item_id: 'glue',
      warehouse_id: 'WH-A',
      on_hand: 0,
      available: 0,
      undated_incoming: 0,
      timeline: [],
    },
    'no level: nothing',
  );

  const atp = async (qty: number) =>
    ok(await api.GET('/inventory/atp', { params: { query: { ...query, qty } } }));
  const today = new Date().toISOString().slice(0, 10);
  t.same(await atp(4), { available_now: 4, earliest_date: today }, 'available now: today (UTC)');
  t.same(await atp(8), { available_now: 4, earliest_date: '2027-01-15' });
  t.same(await atp(8.5), { available_now: 4, earliest_date: '2027-01-15' });
  t.same(await atp(12.5), { available_now: 4, earliest_date: '2027-03-01' });
  t.same(
    await atp(13),
    { available_now: 4, earliest_date: null },
    'undated incoming counts for no date',
  );
});

t.test('availability and ATP failures', async (t) => {
  const s = await startServer(t);
  const api = s.client({ sub: 'alice' });
  await seedCatalogue(api);
  for (const path of [
    '/inventory/availability?warehouse_id=WH-A',
    '/inventory/availability?item_id=bolt',
    '/inventory/atp?item_id=bolt&warehouse_id=WH-A',
    '/inventory/atp?item_id=bolt&warehouse_id=WH-A&qty=0',
    '/inventory/availability?item_id=bolt&warehouse_id=WH-A&until=tomorrow',
  ]) {
    const res = await s.request(path);
    t.equal(res.status, 422, path);
  }
  const unknownItem = await s.request('/inventory/availability?item_id=nope&warehouse_id=WH-A');
  t.equal(unknownItem.status, 422);
  t.match(await unknownItem.json(), {
    errors: [{ pointer: '#/query/item_id', code: 'unknown_item' }],
  });
  const unknownWh = await s.request('/inventory/atp?item_id=bolt&warehouse_id=WH-Z&qty=1');
  t.equal(unknownWh.status, 422);
  t.match(await unknownWh.json(), {
    errors: [{ pointer: '#/query/warehouse_id', code: 'unknown_warehouse' }],
  });
  const restricted = { warehouses: ['WH-B'] };
  for (const path of [
    '/inventory/availability?item_id=bolt&warehouse_id=WH-A',
    '/inventory/atp?item_id=bolt&warehouse_id=WH-A&qty=1',
  ]) {
    const res = await s.request(path, { token: restricted });
    t.equal(res.status, 403, `${path}: another warehouse`);
    t.equal((await s.request(path.replace('WH-A', 'WH-B'), { token: restricted })).status, 200);
  }
  const noScope = await s.request('/inventory/availability?item_id=bolt&warehouse_id=WH-A', {
    token: { scope: 'procurement:read' },
  });
  t.equal(noScope.status, 403);
});

t.test(
  'concurrency: random PO requests racing on orders to two warehouses keep incoming exact',
  async (t) => {
    const s = await startServer(t);
    const api = s.client({ sub: 'alice' });
    await seedCatalogue(api);
    const orders: PurchaseOrder[] = [];
    for (let i = 0; i < 6; i++) {
      const body = {
        ship_to_warehouse_id: i % 2 ? 'WH-B' : 'WH-A',
        lines: [
          { item_id: 'bolt', qty: 10, unit_price: '0.50', expected_at: '2027-01-15' },
          { item_id: 'bolt', qty: 8, unit_price: '0.60' },
        ],
      };
      orders.push(i < 2 ? await createPo(api, body) : await sentPo(api, body));
    }
    const receipts: { id: string; etag: string }[] = [];
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const statuses: number[] = [];
    const succeeded = new Map<string, number>();
    const KINDS = [
      'send',
      'receipt',
      'receipt',
      'reversal',
      'cancel-remaining',
      'revision',
      'close',
    ];
    const op = async (k: number) => {
      const po = await getPo(s, orders[k % orders.length].id);
      const line = po.lines[rand(po.lines.length)];
      let res: { response: Response; data?: any };
      const kind = rand(7);
      switch (kind) {
        case 0:
          res = await s.client().POST('/procurement/purchase-orders/{id}/send', {
            params: { path: { id: po.id }, header: { ...ik(), 'If-Match': po.etag } },
          });
          break;
        case 1:
        case 2:
          res = await s.client().POST('/procurement/receipts', {
            params: { header: ik() },
            body: {
              po_id: po.id,
              warehouse_id: po.ship_to_warehouse_id as string,
              lines: [{ po_line_id: line.id, qty_received: 1 + rand(3) }],
            },
          });
          if (res.data) receipts.push(res.data);
          break;
        case 3: {
          const r = receipts[rand(receipts.length || 1)];
          if (!r) return;
          const current = ok(
            await s.client().GET('/procurement/receipts/{id}', { params: { path: { id: r.id } } }),
          );
          res = await reverse(s, current);
          break;
        }
        case 4:
          res = await cancelRemaining(s, po, line.id);
          break;
        case 5:
          res = await revise(
            s,
            po,
            asInput(po).map((l, i) =>
              i === 0
                ? {
                    ...l,
                    qty: Math.max(
                      (l.qty ?? 0) + rand(5) - 2,
                      po.lines[0].qty_received + po.lines[0].qty_cancelled,
                      1,
                    ),
                    ...(rand(2) ? { expected_at: '2027-02-01' } : {}),
                  }
                : l,
            ),
          );
          break;
        default:
          if (rand(3) !== 0) return;
          res = await close(s, po);
      }
      statuses.push(res.response.status);
      if (res.response.status < 300)
        succeeded.set(KINDS[kind] ?? 'close', (succeeded.get(KINDS[kind] ?? 'close') ?? 0) + 1);
    };
    for (let round = 0; round < 6; round++)
      await Promise.all(Array.from({ length: 16 }, (_, k) => op(round * 16 + k)));
    t.notOk(
      statuses.some((x) => x >= 500),
      `no 5xx (${statuses.length} requests)`,
    );
    t.ok(statuses.filter((x) => x < 300).length > 10, 'many succeeded');
    t.comment(`succeeded: ${JSON.stringify(Object.fromEntries(succeeded))}`);
    for (const kind of ['receipt', 'revision'])
      t.ok((succeeded.get(kind) ?? 0) > 0, `some ${kind} succeeded`);
    await noViolations(t, s);
  },
);

t.test('the migration backfills incoming from the orders already SENT', async (t) => {
  const { sql } = await freshDatabase(t, { empty: true });
  const before = await mkdtemp(path.join(tmpdir(), 'migrations-'));
  t.teardown(() => rm(before, { recursive: true, force: true }));
  for (const name of await readdir(MIGRATIONS_DIR))
    if (name < '0022') await cp(path.join(MIGRATIONS_DIR, name), path.join(before, name));
  await migrate(sql, before);
  await sql`INSERT INTO vendors (id, name, currency) VALUES ('ven', 'V', 'EUR')`;
  await sql`INSERT INTO warehouses (id, name) VALUES ('WH-A', 'A'), ('WH-B', 'B')`;
  await sql`INSERT INTO items (id, sku, name, uom, track_by) VALUES ('bolt', 'B', 'Bolt', 'EA', 'NONE'), ('nut', 'N', 'Nut', 'EA', 'NONE')`;
  await sql`INSERT INTO stock_levels (item_id, warehouse_id, on_hand) VALUES ('bolt', 'WH-A', 7)`;
  const orders = [
    ['po_a', 'SENT', 'WH-A'],
    ['po_b', 'SENT', 'WH-B'],
    ['po_none', 'SENT', null],
    ['po_draft', 'DRAFT', 'WH-A'],
  ] as const;
  for (const [id, status, wh] of orders) {
    await sql`INSERT INTO purchase_orders (id, number, vendor_id, currency, status, ship_to_warehouse_id, created_by)
              VALUES (${id}, ${id}, 'ven', 'EUR', ${status}, ${wh}, 'alice')`;
    await sql`INSERT INTO purchase_order_lines (id, po_id, line_no, item_id, qty, unit_price, qty_received, qty_cancelled, expected_at)
              VALUES (${`${id}_0`}, ${id}, 0, 'bolt', 10, 1, 3, 1, '2027-01-15'),
                     (${`${id}_1`}, ${id}, 1, 'nut', 5, 1, 0, 0, NULL)`;
  }
  await migrate(sql);
  const rows = await sql<
    { item_id: string; warehouse_id: string; on_hand: number; incoming: number; undated: number }[]
  >`
    SELECT item_id, warehouse_id, on_hand::float8 AS on_hand, incoming::float8 AS incoming,
      undated_incoming::float8 AS undated
    FROM stock_levels ORDER BY item_id, warehouse_id`;
  t.same(
    rows.map((r) => [r.item_id, r.warehouse_id, r.on_hand, r.incoming, r.undated]),
    [
      ['bolt', 'WH-A', 7, 6, 0],
      ['bolt', 'WH-B', 0, 6, 0],
      ['nut', 'WH-A', 0, 5, 5],
      ['nut', 'WH-B', 0, 5, 5],
    ],
  );
  const report = await checkInvariants(sql);
  t.same(
    report.violations.filter((v) => v.startsWith('14:')),
    [],
    'invariant 14 (the rows made by hand break others)',
  );
  await t.rejects(
    sql`UPDATE stock_levels SET undated_incoming = incoming + 1 WHERE item_id = 'bolt' AND warehouse_id = 'WH-A'`,
    'undated_incoming never above incoming',
  );
});
