// Vendor items: their terms, one preferred per item (un-preferring the others atomically), and
// what they do to purchase order lines (minimum, multiple, pricing from the applicable break).
import t from 'tap';
import { ik, ok, seedCatalogue } from './helpers/procurement.ts';
import { startServer, type TestServer } from './helpers/server.ts';
import type { components } from '../generated/client.ts';

type VendorItemCreate = components['schemas']['VendorItemCreate'];

const BOLT_TERMS: VendorItemCreate = {
  vendor_id: 'ven_fast',
  item_id: 'bolt',
  vendor_sku: 'FF-B8',
  min_order_qty: 24,
  order_multiple: 12,
  lead_time_days: 7,
  currency: 'EUR',
  price_breaks: [
    { min_qty: 100, unit_price: '0.45' },
    { min_qty: 24, unit_price: '0.50' },
  ],
  preferred: true,
};

function createVendorItem(s: TestServer, body: VendorItemCreate) {
  return s.client().POST('/procurement/vendor-items', { params: { header: ik() }, body });
}

async function outboxTypes(s: TestServer, id: string): Promise<string[]> {
  const rows = await s.sql<{ type: string }[]>`
    SELECT type FROM outbox WHERE payload->'data'->>'id' = ${id} ORDER BY seq`;
  return rows.map((r) => r.type);
}

t.test('create, get, list and replace a vendor item; events and audit', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  await seedCatalogue(api);
  const created = await createVendorItem(s, BOLT_TERMS);
  t.equal(created.response.status, 201);
  const vi = created.data!;
  t.match(vi, {
    id: /^vi_/,
    vendor_id: 'ven_fast',
    item_id: 'bolt',
    purchase_uom: 'EA',
    min_order_qty: 24,
    order_multiple: 12,
    lead_time_days: 7,
    preferred: true,
    active: true,
    etag: '"v1"',
  });
  t.same(
    vi.price_breaks,
    [
      { min_qty: 24, unit_price: '0.50' },
      { min_qty: 100, unit_price: '0.45' },
    ],
    'breaks by min_qty, prices exact',
  );
  t.equal(created.response.headers.get('location'), `/procurement/vendor-items/${vi.id}`);
  t.same(
    ok(await api.GET('/procurement/vendor-items/{id}', { params: { path: { id: vi.id } } })),
    vi,
  );
  const listed = ok(
    await api.GET('/procurement/vendor-items', { params: { query: { item_id: 'bolt' } } }),
  );
  t.same(
    listed.data.map((v) => v.id),
    [vi.id],
  );
  t.same(
    ok(
      await api.GET('/procurement/vendor-items', { params: { query: { vendor_id: 'ven_tools' } } }),
    ).data,
    [],
  );
  const stale = await api.PUT('/procurement/vendor-items/{id}', {
    params: { path: { id: vi.id }, header: { 'If-Match': '"v9"' } },
    body: { lead_time_days: 3, currency: 'EUR', price_breaks: [], preferred: true, active: true },
  });
  t.equal(stale.response.status, 412);
  const replaced = ok(
    await api.PUT('/procurement/vendor-items/{id}', {
      params: { path: { id: vi.id }, header: { 'If-Match': vi.etag } },
      body: {
        lead_time_days: 3,
        currency: 'EUR',
        price_breaks: [{ min_qty: 1, unit_price: '0.123456' }],
        preferred: true,
        active: true,
      },
    }),
  );
  t.match(replaced, { etag: '"v2"', lead_time_days: 3 });
  t.notOk('min_order_qty' in replaced, 'a replacement clears what it leaves out');
  t.notOk('vendor_sku' in replaced);
  t.same(await outboxTypes(s, vi.id), [
    'procurement.vendor_item.created',
    'procurement.vendor_item.updated',
  ]);
  const audit = await s.sql`SELECT action FROM audit_log WHERE entity = 'vendor_item' ORDER BY id`;
  t.same(
    audit.map((a) => a.action),
    ['vendor_item.created', 'vendor_item.updated'],
  );
  // Restricted tokens see them: vendor items are global.
  const restricted = s.client({ warehouses: ['WH-A'] });
  ok(await restricted.GET('/procurement/vendor-items/{id}', { params: { path: { id: vi.id } } }));
});

t.test('refused: unknown references, duplicates, foreign units, inactive preferred', async (t) => {
  const s = await startServer(t);
  await seedCatalogue(s.client());
  const bad = await createVendorItem(s, {
    ...BOLT_TERMS,
    vendor_id: 'ven_nope',
    item_id: 'nope',
    currency: 'XXY',
  });
  t.equal(bad.response.status, 422);
  t.same((bad.error as any).errors.map((e: any) => [e.pointer, e.code]).sort(), [
    ['#/currency', 'unknown_currency'],
    ['#/item_id', 'unknown_item'],
    ['#/vendor_id', 'unknown_vendor'],
  ]);
  const breaks = await createVendorItem(s, {
    ...BOLT_TERMS,
    purchase_uom: 'BOX',
    price_breaks: [
      { min_qty: 10, unit_price: '1' },
      { min_qty: 10, unit_price: '2' },
    ],
    preferred: true,
    active: false,
  });
  t.equal(breaks.response.status, 422);
  t.same((breaks.error as any).errors.map((e: any) => [e.pointer, e.code]).sort(), [
    ['#/preferred', 'inactive_preferred'],
    ['#/price_breaks/1/min_qty', 'duplicate_break'],
    ['#/purchase_uom', 'unknown_uom'],
  ]);
  const first = ok(await createVendorItem(s, BOLT_TERMS));
  const twice = await createVendorItem(s, { ...BOLT_TERMS, vendor_sku: 'other' });
  t.equal(twice.response.status, 409);
  t.match(twice.error, { type: /already-exists$/, id: first.id });
  const sameId = await createVendorItem(s, { ...BOLT_TERMS, id: first.id, item_id: 'glue' });
  t.equal(sameId.response.status, 409);
  const [{ n }] = await s.sql`SELECT count(*)::int AS n FROM vendor_items`;
  t.equal(n, 1, 'nothing else was made');
});

t.test('one preferred per item: making one preferred un-prefers the other', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  await seedCatalogue(api);
  const fast = ok(await createVendorItem(s, BOLT_TERMS));
  const tools = ok(
    await createVendorItem(s, {
      ...BOLT_TERMS,
      vendor_id: 'ven_tools',
      currency: 'USD',
      preferred: true,
    }),
  );
  const fastNow = ok(
    await api.GET('/procurement/vendor-items/{id}', { params: { path: { id: fast.id } } }),
  );
  t.match(fastNow, { preferred: false, etag: '"v2"' });
  t.equal(tools.preferred, true);
  t.same(await outboxTypes(s, fast.id), [
    'procurement.vendor_item.created',
    'procurement.vendor_item.updated',
  ]);
  // Back again by PUT.
  ok(
    await api.PUT('/procurement/vendor-items/{id}', {
      params: { path: { id: fast.id }, header: { 'If-Match': fastNow.etag } },
      body: { lead_time_days: 7, currency: 'EUR', price_breaks: [], preferred: true, active: true },
    }),
  );
  const rows = await s.sql`SELECT id FROM vendor_items WHERE preferred`;
  t.same(
    rows.map((r) => r.id),
    [fast.id],
  );
});

t.test(
  'race: two vendor items of one item made preferred at once; exactly one stays',
  async (t) => {
    const s = await startServer(t);
    await seedCatalogue(s.client());
    for (let round = 0; round < 3; round++) {
      const item = `race-${round}`;
      ok(
        await s.client().POST('/inventory/items', {
          body: { id: item, sku: item, name: item, uom: 'EA', track_by: 'NONE' },
        }),
      );
      const results = await Promise.all(
        ['ven_fast', 'ven_tools'].map((vendor_id) =>
          createVendorItem(s, { ...BOLT_TERMS, vendor_id, item_id: item, preferred: true }),
        ),
      );
      t.same(
        results.map((r) => r.response.status),
        [201, 201],
      );
      const [{ n }] = await s.sql`
      SELECT count(*)::int AS n FROM vendor_items WHERE item_id = ${item} AND preferred`;
      t.equal(n, 1, `round ${round}: one preferred`);
    }
  },
);

t.test(
  'purchase order lines: minimum, multiple, and prices from the applicable break',
  async (t) => {
    const s = await startServer(t);
    const api = s.client();
    await seedCatalogue(api);
    ok(await createVendorItem(s, BOLT_TERMS));
    const order = (
      lines: { item_id: string; qty: number; unit_price?: string }[],
      currency?: string,
    ) =>
      api.POST('/procurement/purchase-orders', {
        params: { header: ik() },
        body: { vendor_id: 'ven_fast', ...(currency && { currency }), lines: lines as never },
      });
    const po = ok(
      await order([
        { item_id: 'bolt', qty: 96 },
        { item_id: 'bolt', qty: 120 },
        { item_id: 'bolt', qty: 36, unit_price: '0.49' },
      ]),
    );
    t.same(
      po.lines.map((l) => [l.qty, l.unit_price]),
      [
        [96, '0.50'],
        [120, '0.45'],
        [36, '0.49'],
      ],
      'priced from the break of each line, or as given',
    );
    const refused = await order([
      { item_id: 'bolt', qty: 12 },
      { item_id: 'bolt', qty: 30 },
      { item_id: 'glue', qty: 5 },
    ]);
    t.equal(refused.response.status, 422);
    t.same(
      (refused.error as any).errors.map((e: any) => [e.pointer, e.code]),
      [
        ['#/lines/0/qty', 'below_min_order_qty'],
        // Under the minimum is under the smallest break too.
        ['#/lines/0/unit_price', 'no_price_break'],
        ['#/lines/1/qty', 'not_order_multiple'],
        ['#/lines/2/unit_price', 'required'],
      ],
    );
    const otherCurrency = await order([{ item_id: 'bolt', qty: 24 }], 'USD');
    t.match((otherCurrency.error as any).errors, [
      { pointer: '#/lines/0/unit_price', code: 'no_price_break' },
    ]);
    // Another vendor has no terms for bolt: any quantity, price required.
    const tools = await api.POST('/procurement/purchase-orders', {
      params: { header: ik() },
      body: { vendor_id: 'ven_tools', lines: [{ item_id: 'bolt', qty: 5, unit_price: '1.00' }] },
    });
    t.equal(tools.response.status, 201);
    // PUT follows the same rules.
    const put = await api.PUT('/procurement/purchase-orders/{id}', {
      params: { path: { id: po.id }, header: { 'If-Match': po.etag } },
      body: { vendor_id: 'ven_fast', currency: 'EUR', lines: [{ item_id: 'bolt', qty: 10 }] },
    });
    t.equal(put.response.status, 422);
    const putOk = ok(
      await api.PUT('/procurement/purchase-orders/{id}', {
        params: { path: { id: po.id }, header: { 'If-Match': po.etag } },
        body: { vendor_id: 'ven_fast', currency: 'EUR', lines: [{ item_id: 'bolt', qty: 240 }] },
      }),
    );
    t.same(
      putOk.lines.map((l) => l.unit_price),
      ['0.45'],
    );
    // An inactive vendor item prices nothing and checks nothing.
    const [vi] = ok(await api.GET('/procurement/vendor-items', {})).data;
    ok(
      await api.PUT('/procurement/vendor-items/{id}', {
        params: { path: { id: vi.id }, header: { 'If-Match': vi.etag } },
        body: {
          min_order_qty: 24,
          order_multiple: 12,
          lead_time_days: 7,
          currency: 'EUR',
          price_breaks: BOLT_TERMS.price_breaks,
          preferred: false,
          active: false,
        },
      }),
    );
    t.equal((await order([{ item_id: 'bolt', qty: 1, unit_price: '0.60' }])).response.status, 201);
    const noPrice = await order([{ item_id: 'bolt', qty: 24 }]);
    t.match((noPrice.error as any).errors, [{ code: 'required' }]);
  },
);

t.test('a purchase unit: minimum, multiple and prices per box, lines in stock units', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  await seedCatalogue(api);
  ok(
    await api.POST('/inventory/items', {
      body: {
        id: 'screw',
        sku: 'SCREW-4',
        name: 'Screw 4x40',
        uom: 'EA',
        track_by: 'NONE',
        uom_conversions: [{ uom: 'BOX', numerator: 12, denominator: 1 }],
      },
    }),
  );
  const vi = ok(
    await createVendorItem(s, {
      vendor_id: 'ven_fast',
      item_id: 'screw',
      purchase_uom: 'BOX',
      min_order_qty: 2,
      order_multiple: 1,
      lead_time_days: 3,
      currency: 'EUR',
      price_breaks: [{ min_qty: 2, unit_price: '6.00' }],
    }),
  );
  t.equal(vi.purchase_uom, 'BOX');
  const po = ok(
    await api.POST('/procurement/purchase-orders', {
      params: { header: ik() },
      body: { vendor_id: 'ven_fast', lines: [{ item_id: 'screw', qty: 36 }] },
    }),
  );
  t.same(
    po.lines.map((l) => [l.qty, l.unit_price]),
    [[36, '0.5']],
    '3 boxes of 12 at 6.00 a box: 36 at 0.50 each, exactly',
  );
  const off = await api.POST('/procurement/purchase-orders', {
    params: { header: ik() },
    body: { vendor_id: 'ven_fast', lines: [{ item_id: 'screw', qty: 30, unit_price: '0.5' }] },
  });
  t.match((off.error as any).errors, [{ pointer: '#/lines/0/qty', code: 'not_order_multiple' }]);
  const under = await api.POST('/procurement/purchase-orders', {
    params: { header: ik() },
    body: { vendor_id: 'ven_fast', lines: [{ item_id: 'screw', qty: 12, unit_price: '0.5' }] },
  });
  t.match((under.error as any).errors, [{ pointer: '#/lines/0/qty', code: 'below_min_order_qty' }]);
  const unknown = await createVendorItem(s, {
    vendor_id: 'ven_tools',
    item_id: 'screw',
    purchase_uom: 'PALLET',
    lead_time_days: 3,
    currency: 'USD',
    price_breaks: [],
  });
  t.match((unknown.error as any).errors, [{ pointer: '#/purchase_uom', code: 'unknown_uom' }]);
});

t.test(
  'converting a requisition: preferred vendors, prices from the breaks, orders per warehouse',
  async (t) => {
    const s = await startServer(t);
    const api = s.client();
    const approver = s.client({ sub: 'approver' });
    await seedCatalogue(api);
    ok(await createVendorItem(s, BOLT_TERMS));
    ok(
      await createVendorItem(s, {
        vendor_id: 'ven_tools',
        item_id: 'glue',
        lead_time_days: 2,
        currency: 'USD',
        price_breaks: [{ min_qty: 1, unit_price: '7.25' }],
        preferred: true,
      }),
    );
    const requisition = async (lines: components['schemas']['RequisitionLineInput'][]) => {
      const req = ok(
        await api.POST('/procurement/requisitions', { params: { header: ik() }, body: { lines } }),
      );
      return ok(
        await approver.POST('/procurement/requisitions/{id}/approve', {
          params: { path: { id: req.id }, header: { ...ik(), 'If-Match': req.etag } },
        }),
      );
    };
    const req = await requisition([
      { item_id: 'bolt', qty: 96, warehouse_id: 'WH-A' },
      { item_id: 'bolt', qty: 120, warehouse_id: 'WH-B' },
      { item_id: 'glue', qty: 4, warehouse_id: 'WH-A' },
      { item_id: 'bolt', qty: 24, warehouse_id: 'WH-A', unit_price: '0.55' },
    ]);
    const converted = ok(
      await api.POST('/procurement/requisitions/{id}/convert', {
        params: { path: { id: req.id }, header: { ...ik(), 'If-Match': req.etag } },
        body: { prices: { glue: '7.00' } },
      }),
    );
    const orders = await Promise.all(
      converted.purchase_order_ids.map(async (id) =>
        ok(await api.GET('/procurement/purchase-orders/{id}', { params: { path: { id } } })),
      ),
    );
    t.same(
      orders
        .map((po) => [
          po.vendor_id,
          po.ship_to_warehouse_id,
          po.currency,
          po.status,
          po.lines.map((l) => [l.qty, l.unit_price]),
        ])
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
      [
        [
          'ven_fast',
          'WH-A',
          'EUR',
          'DRAFT',
          [
            [96, '0.50'],
            [24, '0.55'],
          ],
        ],
        ['ven_fast', 'WH-B', 'EUR', 'DRAFT', [[120, '0.45']]],
        ['ven_tools', 'WH-A', 'USD', 'DRAFT', [[4, '7.00']]],
      ],
      'preferred vendor per item, one order per vendor and warehouse, prices from prices then breaks',
    );

    // A line under the vendor's minimum is refused, and so is one no break prices.
    const under = await requisition([{ item_id: 'bolt', qty: 12, warehouse_id: 'WH-A' }]);
    const refused = await api.POST('/procurement/requisitions/{id}/convert', {
      params: { path: { id: under.id }, header: { ...ik(), 'If-Match': under.etag } },
    });
    t.equal(refused.response.status, 422);
    t.same(
      (refused.error as any).errors.map((e: any) => [e.pointer, e.code]),
      [
        ['#', 'below_min_order_qty'],
        ['#/prices/bolt', 'no_price_break'],
      ],
    );
    const [{ status }] = await s.sql`SELECT status FROM requisitions WHERE id = ${under.id}`;
    t.equal(status, 'APPROVED', 'nothing changed');
    // No vendor anywhere: the body must name one.
    const drill = await requisition([{ item_id: 'drill', qty: 1, warehouse_id: 'WH-A' }]);
    const noVendor = await api.POST('/procurement/requisitions/{id}/convert', {
      params: { path: { id: drill.id }, header: { ...ik(), 'If-Match': drill.etag } },
    });
    t.same(
      (noVendor.error as any).errors.map((e: any) => [e.pointer, e.code]),
      [
        ['#/vendor_id', 'required'],
        ['#/prices/drill', 'required'],
      ],
    );
  },
);
