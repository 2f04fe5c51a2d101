// Replacing warehouses and vendors (PUT with If-Match, as items), deactivation refusing what would
// be made with them from then on, and a vendor's own 3-way match tolerances.
import t from 'tap';
import { ik, ok, receive, seedCatalogue, sentPo } from './helpers/procurement.ts';
import { startServer } from './helpers/server.ts';
import { postMove, reserve } from './helpers/stock.ts';

const count = async (sql: any, table: string): Promise<number> =>
  (await sql`SELECT count(*)::int AS n FROM ${sql(table)}`)[0].n;

t.test(
  'PUT warehouse: 428 without If-Match, 412 when stale, one of two writers wins',
  async (t) => {
    const s = await startServer(t);
    const api = s.client();
    await seedCatalogue(api);
    const got = await api.GET('/inventory/warehouses/{id}', { params: { path: { id: 'WH-A' } } });
    t.equal(got.response.headers.get('etag'), '"v1"');
    t.equal(got.data!.etag, '"v1"');
    const unchanged = await s.request('/inventory/warehouses/WH-A', {
      headers: { 'if-none-match': '"v1"' },
    });
    t.equal(unchanged.status, 304);

    const put = (etag: string | undefined, body: object) =>
      s.request('/inventory/warehouses/WH-A', {
        method: 'PUT',
        json: body,
        headers: etag ? { 'if-match': etag } : {},
      });
    t.equal((await put(undefined, { name: 'X', active: true })).status, 428);
    const renamed = await put('"v1"', { name: 'Main, Antwerp', active: true });
    t.equal(renamed.status, 200);
    t.equal(renamed.headers.get('etag'), '"v2"');
    t.match(await renamed.json(), {
      id: 'WH-A',
      name: 'Main, Antwerp',
      active: true,
      etag: '"v2"',
    });
    const stale = await put('"v1"', { name: 'Y', active: true });
    t.equal(stale.status, 412);
    t.equal(stale.headers.get('etag'), '"v2"');
    t.equal((await put('"v2"', { name: '', active: true })).status, 422, 'an empty name');
    t.equal((await put('"v2"', { name: 'Z' })).status, 422, 'active is required');

    const restricted = await s.request('/inventory/warehouses/WH-A', {
      method: 'PUT',
      json: { name: 'Not mine', active: false },
      headers: { 'if-match': '"v2"' },
      token: { warehouses: ['WH-B'] },
    });
    t.equal(restricted.status, 403, "outside the token's warehouses");

    const both = await Promise.all([
      put('"v2"', { name: 'First', active: true }),
      put('"v2"', { name: 'Second', active: true }),
    ]);
    t.same(both.map((r) => r.status).sort(), [200, 412], 'exactly one writer wins');

    const [audit] = await s.sql`
    SELECT before, after FROM audit_log WHERE action = 'warehouse.updated' ORDER BY id LIMIT 1`;
    t.match(audit, { before: { name: 'Main' }, after: { name: 'Main, Antwerp' } });
  },
);

t.test('PUT vendor: tolerances, validation, 428/412, one of two writers wins', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  const created = await api.POST('/procurement/vendors', {
    body: { id: 'ven_a', name: 'A', currency: 'EUR', price_tolerance: '0.05' },
  });
  t.equal(created.response.status, 201);
  t.match(created.data, { price_tolerance: '0.05', etag: '"v1"' });
  t.notOk('qty_tolerance' in created.data!, 'a null tolerance is absent');

  const put = (etag: string | undefined, body: object) =>
    s.request('/procurement/vendors/ven_a', {
      method: 'PUT',
      json: body,
      headers: etag ? { 'if-match': etag } : {},
    });
  const base = { name: 'A NV', currency: 'EUR', active: true };
  t.equal((await put(undefined, base)).status, 428);
  for (const bad of ['-0.1', 'abc', '1.5', '0.1234567', 2])
    t.equal((await put('"v1"', { ...base, qty_tolerance: bad })).status, 422, `${bad} refused`);
  t.equal(
    (
      await api.POST('/procurement/vendors', {
        body: { name: 'B', currency: 'EUR', price_tolerance: '-0.02' },
      })
    ).response.status,
    422,
    'POST refuses a negative tolerance',
  );
  const res = await put('"v1"', { ...base, qty_tolerance: '0.1', price_tolerance: null });
  t.equal(res.status, 200);
  const body = await res.json();
  t.match(body, { name: 'A NV', qty_tolerance: '0.1', etag: '"v2"' });
  t.notOk('price_tolerance' in body, 'null clears it');
  t.equal((await put('"v1"', base)).status, 412);

  const both = await Promise.all([put('"v2"', base), put('"v2"', { ...base, name: 'Other' })]);
  t.same(both.map((r) => r.status).sort(), [200, 412], 'exactly one writer wins');
  t.equal(
    (
      await s.request('/procurement/vendors/nope', {
        method: 'PUT',
        json: base,
        headers: { 'if-match': '"v1"' },
      })
    ).status,
    404,
  );
  const [{ n }] =
    await s.sql`SELECT count(*)::int AS n FROM audit_log WHERE action = 'vendor.updated'`;
  t.equal(n, 2);
});

t.test('an inactive warehouse takes no new moves, reservations, receipts or orders', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  await seedCatalogue(api);
  ok(
    await postMove(api, { type: 'RECEIPT', to_wh: 'WH-B', lines: [{ item_id: 'bolt', qty: 10 }] }),
  );
  const po = await sentPo(api, { ship_to_warehouse_id: 'WH-B' });
  const wh = ok(await api.GET('/inventory/warehouses/{id}', { params: { path: { id: 'WH-B' } } }));
  ok(
    await api.PUT('/inventory/warehouses/{id}', {
      params: { path: { id: 'WH-B' }, header: { 'If-Match': wh.etag! } },
      body: { name: wh.name, active: false },
    }),
  );
  const before = await Promise.all(
    ['stock_moves', 'reservations', 'receipts', 'purchase_orders'].map((x) => count(s.sql, x)),
  );
  const refused = (res: { response: Response; error?: any }, pointer: string, what: string) => {
    t.equal(res.response.status, 422, what);
    t.match(res.error?.errors, [{ pointer, code: 'inactive_warehouse' }], what);
  };
  refused(
    await postMove(api, { type: 'ISSUE', from_wh: 'WH-B', lines: [{ item_id: 'bolt', qty: 1 }] }),
    '#/from_wh',
    'a move from it',
  );
  refused(
    await postMove(api, {
      type: 'TRANSFER',
      from_wh: 'WH-A',
      to_wh: 'WH-B',
      lines: [{ item_id: 'bolt', qty: 1 }],
    }),
    '#/to_wh',
    'a move to it',
  );
  refused(
    await reserve(api, { item_id: 'bolt', warehouse_id: 'WH-B', qty: 1 }),
    '#/warehouse_id',
    'a reservation',
  );
  refused(
    await api.POST('/procurement/receipts', {
      params: { header: ik() },
      body: {
        po_id: po.id,
        warehouse_id: 'WH-B',
        lines: [{ po_line_id: po.lines[0].id, qty_received: 1 }],
      },
    }),
    '#/warehouse_id',
    'a receipt',
  );
  refused(
    await api.POST('/procurement/purchase-orders', {
      params: { header: ik() },
      body: {
        vendor_id: 'ven_fast',
        ship_to_warehouse_id: 'WH-B',
        lines: [{ item_id: 'bolt', qty: 1, unit_price: '1.00' }],
      },
    }),
    '#/ship_to_warehouse_id',
    'an order shipping to it',
  );
  t.same(
    await Promise.all(
      ['stock_moves', 'reservations', 'receipts', 'purchase_orders'].map((x) => count(s.sql, x)),
    ),
    before,
    'nothing was made',
  );
  // A receipt is made, so an order shipping to the warehouse waits for it to be active again.
  const inactive = ok(
    await api.GET('/inventory/warehouses/{id}', { params: { path: { id: 'WH-B' } } }),
  );
  t.same([inactive.active, inactive.etag], [false, '"v2"']);
  ok(
    await api.PUT('/inventory/warehouses/{id}', {
      params: { path: { id: 'WH-B' }, header: { 'If-Match': '"v2"' } },
      body: { name: wh.name, active: true },
    }),
  );
  await receive(api, po, [{ po_line_id: po.lines[0].id, qty_received: 1 }], 'WH-B');
});

t.test('an inactive vendor takes no new orders; its existing ones keep working', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  await seedCatalogue(api);
  const po = await sentPo(api);
  ok(
    await api.PUT('/procurement/vendors/{id}', {
      params: { path: { id: 'ven_fast' }, header: { 'If-Match': '"v1"' } },
      body: { name: 'Fasteners NV', currency: 'EUR', active: false },
    }),
  );
  const n = await count(s.sql, 'purchase_orders');
  const res = await api.POST('/procurement/purchase-orders', {
    params: { header: ik() },
    body: { vendor_id: 'ven_fast', lines: [{ item_id: 'bolt', qty: 1, unit_price: '1.00' }] },
  });
  t.equal(res.response.status, 422);
  t.match((res.error as any).errors, [{ pointer: '#/vendor_id', code: 'inactive_vendor' }]);
  t.equal(await count(s.sql, 'purchase_orders'), n, 'nothing was made');
  await receive(api, po, [{ po_line_id: po.lines[0].id, qty_received: 2 }]);
});

t.test("the match applies the order's vendor's tolerances", async (t) => {
  const s = await startServer(t, { env: { INVOICE_PRICE_TOLERANCE: '0.01' } });
  const api = s.client();
  await seedCatalogue(api);
  const setTolerances = async (id: string, currency: string, tolerances: object) => {
    const v = ok(await api.GET('/procurement/vendors/{id}', { params: { path: { id } } }));
    ok(
      await api.PUT('/procurement/vendors/{id}', {
        params: { path: { id }, header: { 'If-Match': v.etag! } },
        body: { name: v.name, currency, active: true, ...tolerances },
      }),
    );
  };
  await setTolerances('ven_fast', 'EUR', { price_tolerance: '0.05', qty_tolerance: '0.1' });
  const invoice = async (po: any, number: string, qty: number, unit_price: string) =>
    ok(
      await api.POST('/procurement/invoices', {
        params: { header: ik() },
        body: { po_id: po.id, number, lines: [{ po_line_id: po.lines[0].id, qty, unit_price }] },
      }),
    );
  const match = async (po: any) =>
    ok(
      await api.GET('/procurement/purchase-orders/{id}/match', { params: { path: { id: po.id } } }),
    );

  const po = await sentPo(api, { lines: [{ item_id: 'bolt', qty: 20, unit_price: '1.00' }] });
  await receive(api, po, [{ po_line_id: po.lines[0].id, qty_received: 10 }]);
  // 4% above the price: outside the server's 1%, inside the vendor's 5%; 11 of 10 is 10% more.
  t.match(await invoice(po, 'A', 11, '1.04'), { match_status: 'MATCHED' });
  t.match(await match(po), { status: 'MATCHED', price_tolerance: 0.05 });
  const over = await invoice(po, 'B', 1, '1.00');
  t.same(
    over.lines[0].reasons.map((r) => r.code),
    ['qty_invoiced_exceeds_received'],
    '12 of 10 is more than 10% over',
  );
  t.match(await match(po), { status: 'EXCEPTION' });
  // Receiving more than ordered stays refused, whatever the tolerance.
  const overReceipt = await api.POST('/procurement/receipts', {
    params: { header: ik() },
    body: {
      po_id: po.id,
      warehouse_id: 'WH-A',
      lines: [{ po_line_id: po.lines[0].id, qty_received: 11 }],
    },
  });
  t.equal(overReceipt.response.status, 409);

  // A vendor without tolerances: the server's default, and no quantity over received.
  const other = await sentPo(api, {
    vendor_id: 'ven_tools',
    lines: [{ item_id: 'bolt', qty: 20, unit_price: '1.00' }],
  });
  await receive(api, other, [{ po_line_id: other.lines[0].id, qty_received: 10 }]);
  const strict = await invoice(other, 'C', 11, '1.04');
  t.same(strict.lines[0].reasons.map((r) => r.code).sort(), [
    'price_outside_tolerance',
    'qty_invoiced_exceeds_received',
  ]);
  t.match(await match(other), { status: 'EXCEPTION', price_tolerance: 0.01 });
  await setTolerances('ven_tools', 'USD', { price_tolerance: '0.05', qty_tolerance: '0.1' });
  t.match(
    await match(other),
    { status: 'MATCHED', price_tolerance: 0.05 },
    'the report follows the vendor',
  );
});
