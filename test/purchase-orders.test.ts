import t from 'tap';
import { startServer } from './helpers/server.ts';
import { createPo, ik, ok, seedCatalogue, sendPo } from './helpers/procurement.ts';

t.test(
  'vendors: create, get, list; 422 for a currency that is not ISO 4217, 409 for a taken id',
  async (t) => {
    const s = await startServer(t);
    const api = s.client();
    await seedCatalogue(api);
    const made = await api.POST('/procurement/vendors', {
      body: { name: 'Glue Co', currency: 'CHF', email: 'sales@glue.example' },
    });
    t.equal(made.response.status, 201);
    t.match(made.data, { id: /^ven_/, name: 'Glue Co', currency: 'CHF', active: true });
    t.equal(made.response.headers.get('location'), `/procurement/vendors/${made.data!.id}`);
    t.same(
      ok(await api.GET('/procurement/vendors/{id}', { params: { path: { id: made.data!.id } } })),
      made.data,
    );
    t.equal(
      (await api.GET('/procurement/vendors/{id}', { params: { path: { id: 'nope' } } })).response
        .status,
      404,
    );

    const bad = await api.POST('/procurement/vendors', { body: { name: 'X', currency: 'XYZ' } });
    t.equal(bad.response.status, 422);
    t.match(bad.error, { errors: [{ pointer: '#/currency', code: 'unknown_currency' }] });
    t.equal(
      (
        await api.POST('/procurement/vendors', {
          body: { id: 'ven_fast', name: 'Again', currency: 'EUR' },
        })
      ).response.status,
      409,
    );

    const all = [made.data!.id, 'ven_fast', 'ven_tools'].sort();
    const first = ok(await api.GET('/procurement/vendors', { params: { query: { limit: 2 } } }));
    t.same(
      first.data.map((v) => v.id),
      all.slice(0, 2),
    );
    const rest = ok(
      await api.GET('/procurement/vendors', {
        params: { query: { limit: 2, cursor: first.page.next_cursor } },
      }),
    );
    t.same(
      rest.data.map((v) => v.id),
      all.slice(2),
    );
    t.equal(rest.page.has_more, false);
  },
);

t.test(
  'create: 201 with Location and ETag, generated number, currency from the vendor',
  async (t) => {
    const s = await startServer(t);
    const api = s.client();
    await seedCatalogue(api);
    const res = await api.POST('/procurement/purchase-orders', {
      params: { header: ik() },
      body: {
        vendor_id: 'ven_tools',
        notes: 'urgent',
        lines: [
          { item_id: 'bolt', qty: 2.5, unit_price: '0.125' },
          { item_id: 'drill', qty: 3, unit_price: '99' },
        ],
      },
    });
    t.equal(res.response.status, 201, JSON.stringify(res.error));
    const po = res.data!;
    t.match(po, {
      id: /^po_/,
      number: 'PO-000001',
      vendor_id: 'ven_tools',
      currency: 'USD',
      status: 'DRAFT',
      notes: 'urgent',
      etag: '"v1"',
    });
    t.match(po.lines, [
      {
        id: /^pol_/,
        item_id: 'bolt',
        qty: 2.5,
        unit_price: '0.125',
        qty_received: 0,
        qty_invoiced: 0,
      },
      { id: /^pol_/, item_id: 'drill', qty: 3, unit_price: '99', qty_received: 0, qty_invoiced: 0 },
    ]);
    t.equal(res.response.headers.get('etag'), '"v1"');
    t.equal(res.response.headers.get('location'), `/procurement/purchase-orders/${po.id}`);
    t.equal((await createPo(api)).number, 'PO-000002');
    // A client-chosen number that looks generated does not stop generation: the next one is taken.
    await createPo(api, { number: 'po-000003' });
    t.equal((await createPo(api)).number, 'PO-000004');
  },
);

t.test('create: 409 duplicate-number, also when two creations with one number race', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  await seedCatalogue(api);
  await createPo(api, { number: 'PO-2026-1' });
  const again = await api.POST('/procurement/purchase-orders', {
    params: { header: ik() },
    body: {
      number: 'po-2026-1',
      vendor_id: 'ven_fast',
      lines: [{ item_id: 'bolt', qty: 1, unit_price: '1' }],
    },
  });
  t.equal(again.response.status, 409);
  t.match(again.error, {
    type: 'https://problems.inventory-api.dev/duplicate-number',
    number: 'po-2026-1',
  });

  for (let round = 0; round < 5; round++) {
    const number = `RACE-${round}`;
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        api.POST('/procurement/purchase-orders', {
          params: { header: ik() },
          body: {
            number,
            vendor_id: 'ven_fast',
            lines: [{ item_id: 'bolt', qty: 1, unit_price: '1' }],
          },
        }),
      ),
    );
    const statuses = results.map((r) => r.response.status).sort();
    t.same(
      statuses,
      [201, 409, 409, 409, 409, 409, 409, 409],
      `round ${round}: exactly one creation wins`,
    );
  }
  const [{ count }] =
    await s.sql`SELECT count(*)::int AS count FROM purchase_orders WHERE number LIKE 'RACE-%'`;
  t.equal(count, 5);
});

t.test(
  'create: 422 for unknown vendor or item, bad currency, non-positive qty or price',
  async (t) => {
    const s = await startServer(t);
    const api = s.client();
    await seedCatalogue(api);
    ok(
      await api.PUT('/inventory/items/{id}', {
        params: { path: { id: 'glue' }, header: { 'If-Match': '"v1"' } },
        body: { sku: 'GLUE-500', name: 'Epoxy glue', uom: 'EA', track_by: 'BATCH', active: false },
      }),
    );
    const post = (body: any) =>
      s.request('/procurement/purchase-orders', { method: 'POST', json: body, headers: ik() });
    const problem = async (body: any) => {
      const res = await post(body);
      t.equal(res.status, 422);
      return (await res.json()).errors;
    };
    const line = { item_id: 'bolt', qty: 1, unit_price: '1.00' };
    t.match(await problem({ vendor_id: 'ven_nope', lines: [line] }), [
      { pointer: '#/vendor_id', code: 'unknown_vendor' },
    ]);
    t.match(
      await problem({
        vendor_id: 'ven_fast',
        lines: [line, { ...line, item_id: 'nope' }, { ...line, item_id: 'glue' }],
      }),
      [
        { pointer: '#/lines/1/item_id', code: 'unknown_item' },
        { pointer: '#/lines/2/item_id', code: 'inactive_item' },
      ],
    );
    t.match(await problem({ vendor_id: 'ven_fast', currency: 'XXY', lines: [line] }), [
      { pointer: '#/currency', code: 'unknown_currency' },
    ]);
    t.match(await problem({ vendor_id: 'ven_fast', currency: 'eur', lines: [line] }), [
      { pointer: '#/currency', code: 'pattern' },
    ]);
    t.match(await problem({ vendor_id: 'ven_fast', lines: [{ ...line, qty: 0 }] }), [
      { pointer: '#/lines/0/qty', code: 'exclusiveMinimum' },
    ]);
    t.match(await problem({ vendor_id: 'ven_fast', lines: [{ ...line, qty: -2 }] }), [
      { pointer: '#/lines/0/qty', code: 'exclusiveMinimum' },
    ]);
    t.match(await problem({ vendor_id: 'ven_fast', lines: [{ ...line, unit_price: '0.00' }] }), [
      { pointer: '#/lines/0/unit_price', code: 'pattern' },
    ]);
    t.match(await problem({ vendor_id: 'ven_fast', lines: [{ ...line, unit_price: '-1' }] }), [
      { pointer: '#/lines/0/unit_price', code: 'pattern' },
    ]);
    t.match(await problem({ vendor_id: 'ven_fast', lines: [{ ...line, id: 'pol_mine' }] }), [
      { pointer: '#/lines/0/id', code: 'not_allowed' },
    ]);
    const [{ count }] = await s.sql`SELECT count(*)::int AS count FROM purchase_orders`;
    t.equal(count, 0, 'nothing was created');
  },
);

t.test('get with ETag and 304; list filtered by status and vendor, newest first', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  await seedCatalogue(api);
  const a = await createPo(api);
  const b = await sendPo(api, await createPo(api));
  const c = await createPo(api, { vendor_id: 'ven_tools' });
  const got = await api.GET('/procurement/purchase-orders/{id}', {
    params: { path: { id: b.id } },
  });
  t.same(got.data, b);
  t.equal(got.response.headers.get('etag'), '"v2"');
  const cached = await s.request(`/procurement/purchase-orders/${b.id}`, {
    headers: { 'If-None-Match': '"v2"' },
  });
  t.equal(cached.status, 304);
  t.equal(
    (
      await s.request(`/procurement/purchase-orders/${b.id}`, {
        headers: { 'If-None-Match': '"v1"' },
      })
    ).status,
    200,
  );
  t.equal(
    (await api.GET('/procurement/purchase-orders/{id}', { params: { path: { id: 'po_nope' } } }))
      .response.status,
    404,
  );

  const ids = async (query: Record<string, string>) =>
    ok(await api.GET('/procurement/purchase-orders', { params: { query } })).data.map((p) => p.id);
  t.same(await ids({}), [c.id, b.id, a.id]);
  t.same(await ids({ status: 'DRAFT' }), [c.id, a.id]);
  t.same(await ids({ status: 'SENT' }), [b.id]);
  t.same(await ids({ vendor_id: 'ven_fast' }), [b.id, a.id]);
  t.same(await ids({ vendor_id: 'ven_fast', status: 'DRAFT' }), [a.id]);
  const first = ok(
    await api.GET('/procurement/purchase-orders', { params: { query: { limit: 2 } } }),
  );
  const second = ok(
    await api.GET('/procurement/purchase-orders', {
      params: { query: { limit: 2, cursor: first.page.next_cursor } },
    }),
  );
  t.same(
    [...first.data, ...second.data].map((p) => p.id),
    [c.id, b.id, a.id],
  );
});

t.test(
  'PUT: 428 without If-Match, 412 when stale, 200 keeping line ids, 409 once not DRAFT',
  async (t) => {
    const s = await startServer(t);
    const api = s.client();
    await seedCatalogue(api);
    const po = await createPo(api, {
      lines: [
        { item_id: 'bolt', qty: 10, unit_price: '0.50' },
        { item_id: 'glue', qty: 4, unit_price: '7.90' },
      ],
    });
    const body = {
      vendor_id: 'ven_tools',
      currency: 'GBP',
      lines: [
        { id: po.lines[1].id, item_id: 'glue', qty: 5, unit_price: '7.50' },
        { item_id: 'drill', qty: 1, unit_price: '120' },
      ],
    };
    const put = (headers: Record<string, string>, json: unknown = body) =>
      s.request(`/procurement/purchase-orders/${po.id}`, { method: 'PUT', json, headers });

    const missing = await put({});
    t.equal(missing.status, 428);
    t.match(await missing.json(), {
      type: 'https://problems.inventory-api.dev/precondition-required',
    });
    const stale = await put({ 'If-Match': '"v7"' });
    t.equal(stale.status, 412);
    t.equal(stale.headers.get('etag'), '"v1"');
    t.equal((await put({ 'If-Match': 'W/"v1"' })).status, 412, 'a weak tag never matches');
    const invalidLine = await put(
      { 'If-Match': '"v1"' },
      { ...body, lines: [{ id: 'pol_other', item_id: 'bolt', qty: 1, unit_price: '1' }] },
    );
    t.equal(invalidLine.status, 422);
    t.match((await invalidLine.json()).errors, [
      { pointer: '#/lines/0/id', code: 'unknown_po_line' },
    ]);

    const done = await api.PUT('/procurement/purchase-orders/{id}', {
      params: { path: { id: po.id }, header: { 'If-Match': po.etag } },
      body,
    });
    t.equal(done.response.status, 200, JSON.stringify(done.error));
    t.equal(done.response.headers.get('etag'), '"v2"');
    t.match(done.data, { vendor_id: 'ven_tools', currency: 'GBP', etag: '"v2"', status: 'DRAFT' });
    t.notOk('notes' in done.data!, 'PUT replaces: the notes were not sent');
    t.equal(done.data!.lines[0].id, po.lines[1].id, 'a line sent with its id keeps it');
    t.match(done.data!.lines, [
      { item_id: 'glue', qty: 5, unit_price: '7.50' },
      { id: /^pol_/, item_id: 'drill', qty: 1 },
    ]);
    t.notOk(
      done.data!.lines.some((l) => l.id === po.lines[0].id),
      'a line left out is gone',
    );

    const sent = await sendPo(api, done.data!);
    const notDraft = await put({ 'If-Match': sent.etag });
    t.equal(notDraft.status, 409);
    t.match(await notDraft.json(), {
      type: 'https://problems.inventory-api.dev/invalid-state',
      current_status: 'SENT',
      allowed_statuses: ['DRAFT'],
    });
  },
);

t.test(
  'two clients PUT the same purchase order with the same ETag at once: one 200, one 412',
  async (t) => {
    const s = await startServer(t);
    const api = s.client();
    await seedCatalogue(api);
    for (let round = 0; round < 5; round++) {
      const po = await createPo(api);
      const put = (qty: number) =>
        api.PUT('/procurement/purchase-orders/{id}', {
          params: { path: { id: po.id }, header: { 'If-Match': po.etag } },
          body: {
            vendor_id: 'ven_fast',
            currency: 'EUR',
            lines: [{ id: po.lines[0].id, item_id: 'bolt', qty, unit_price: '0.50' }],
          },
        });
      const [a, b] = await Promise.all([put(11), put(12)]);
      t.same([a.response.status, b.response.status].sort(), [200, 412], `round ${round}`);
      const winner = a.response.status === 200 ? a : b;
      const loser = a.response.status === 200 ? b : a;
      t.equal(loser.response.headers.get('etag'), '"v2"', 'the 412 names the current ETag');
      const now = ok(
        await api.GET('/procurement/purchase-orders/{id}', { params: { path: { id: po.id } } }),
      );
      t.same(now, winner.data, "the winner's change is what is stored");
    }
  },
);

t.test('send and close: DRAFT → SENT → CLOSED; wrong states are 409 invalid-state', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  await seedCatalogue(api);
  const action = (
    path: '/procurement/purchase-orders/{id}/send' | '/procurement/purchase-orders/{id}/close',
    id: string,
    etag: string,
  ) => api.POST(path, { params: { path: { id }, header: { ...ik(), 'If-Match': etag } } });
  const po = await createPo(api);
  const sent = await action('/procurement/purchase-orders/{id}/send', po.id, po.etag);
  t.equal(sent.response.status, 200);
  t.match(sent.data, { status: 'SENT', etag: '"v2"' });
  t.equal(sent.response.headers.get('etag'), '"v2"');
  const twice = await action('/procurement/purchase-orders/{id}/send', po.id, '"v2"');
  t.equal(twice.response.status, 409);
  t.match(twice.error, { current_status: 'SENT', allowed_statuses: ['DRAFT'] });
  t.equal(
    (await action('/procurement/purchase-orders/{id}/close', po.id, '"v1"')).response.status,
    412,
  );
  const closed = await action('/procurement/purchase-orders/{id}/close', po.id, '"v2"');
  t.match(closed.data, { status: 'CLOSED', etag: '"v3"' });
  const again = await action('/procurement/purchase-orders/{id}/close', po.id, '"v3"');
  t.equal(again.response.status, 409);
  t.match(again.error, { current_status: 'CLOSED' });
  t.equal(
    (await action('/procurement/purchase-orders/{id}/send', po.id, '"v3"')).response.status,
    409,
  );
  // A DRAFT can be closed (cancelled).
  const draft = await createPo(api);
  t.match((await action('/procurement/purchase-orders/{id}/close', draft.id, draft.etag)).data, {
    status: 'CLOSED',
  });
  t.equal(
    (await action('/procurement/purchase-orders/{id}/send', 'po_nope', '"v1"')).response.status,
    404,
  );
  const noKey = await s.request(`/procurement/purchase-orders/${po.id}/send`, {
    method: 'POST',
    headers: { 'If-Match': '"v1"' },
  });
  t.equal(noKey.status, 400);
});
