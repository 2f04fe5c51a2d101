import t from 'tap';
import { startServer } from './helpers/server.ts';
import { ik, ok, seedCatalogue } from './helpers/procurement.ts';

t.test(
  'requisition: create, ETag/304, PUT in DRAFT, approve, convert into one DRAFT order per vendor',
  async (t) => {
    const s = await startServer(t);
    const api = s.client({ sub: 'alice' });
    // Separation of duties: someone else, with the approve scope, approves alice's requisition.
    const approver = s.client({ sub: 'carol', scope: 'inventory:read procurement:approve' });
    await seedCatalogue(api);
    const created = await api.POST('/procurement/requisitions', {
      params: { header: ik() },
      body: {
        notes: 'Q1',
        lines: [
          {
            item_id: 'bolt',
            qty: 100,
            vendor_id: 'ven_fast',
            unit_price: '0.40',
            needed_by: '2026-12-15',
          },
        ],
      },
    });
    t.equal(created.response.status, 201, JSON.stringify(created.error));
    const req = created.data!;
    t.match(req, {
      id: /^req_/,
      requester_id: 'alice',
      status: 'DRAFT',
      notes: 'Q1',
      etag: '"v1"',
      purchase_order_ids: [],
    });
    t.match(req.lines, [
      {
        id: /^rql_/,
        item_id: 'bolt',
        qty: 100,
        vendor_id: 'ven_fast',
        unit_price: '0.40',
        needed_by: '2026-12-15',
      },
    ]);
    t.equal(created.response.headers.get('location'), `/procurement/requisitions/${req.id}`);
    t.equal(created.response.headers.get('etag'), '"v1"');
    t.equal(
      (
        await s.request(`/procurement/requisitions/${req.id}`, {
          headers: { 'If-None-Match': '"v1"' },
        })
      ).status,
      304,
    );

    const body = {
      notes: 'Q1, revised',
      lines: [
        { item_id: 'bolt', qty: 120, vendor_id: 'ven_fast', unit_price: '0.40' },
        { item_id: 'glue', qty: 6 },
        { item_id: 'drill', qty: 2, vendor_id: 'ven_tools' },
      ],
    };
    const put = (etag: string | undefined) =>
      s.request(`/procurement/requisitions/${req.id}`, {
        method: 'PUT',
        json: body,
        headers: etag ? { 'If-Match': etag } : {},
      });
    t.equal((await put(undefined)).status, 428);
    t.equal((await put('"v0"')).status, 412);
    const replaced = await put('"v1"');
    t.equal(replaced.status, 200);
    t.equal(replaced.headers.get('etag'), '"v2"');
    t.match(await replaced.json(), {
      notes: 'Q1, revised',
      lines: [{ qty: 120 }, { item_id: 'glue' }, { item_id: 'drill' }],
    });

    const convert = (etag: string, json?: unknown) =>
      s.request(`/procurement/requisitions/${req.id}/convert`, {
        method: 'POST',
        json,
        headers: { ...ik(), 'If-Match': etag },
      });
    const early = await convert('"v2"', { vendor_id: 'ven_fast' });
    t.equal(early.status, 409, 'a DRAFT cannot be converted');
    t.match(await early.json(), { current_status: 'DRAFT', allowed_statuses: ['APPROVED'] });

    const approved = await approver.POST('/procurement/requisitions/{id}/approve', {
      params: { path: { id: req.id }, header: { ...ik(), 'If-Match': '"v2"' } },
    });
    t.equal(approved.response.status, 200);
    t.match(approved.data, {
      status: 'APPROVED',
      requester_id: 'alice',
      approved_by: 'carol',
      approved_at: String,
      etag: '"v3"',
    });
    t.equal(
      (
        await approver.POST('/procurement/requisitions/{id}/approve', {
          params: { path: { id: req.id }, header: { ...ik(), 'If-Match': '"v3"' } },
        })
      ).response.status,
      409,
    );
    t.equal((await put('"v3"')).status, 409, 'an APPROVED requisition can no longer be changed');

    // Lines without vendor or price need them from the body.
    const missing = await convert('"v3"');
    t.equal(missing.status, 422);
    t.match((await missing.json()).errors, [
      { pointer: '#/vendor_id', code: 'required' },
      { pointer: '#/prices/glue', code: 'required' },
      { pointer: '#/prices/drill', code: 'required' },
    ]);
    const unknownVendor = await convert('"v3"', {
      vendor_id: 'ven_nope',
      prices: { glue: '7.90', drill: '99.00' },
    });
    t.equal(unknownVendor.status, 422);
    t.match((await unknownVendor.json()).errors, [
      { pointer: '#/vendor_id', code: 'unknown_vendor' },
    ]);

    const converted = await api.POST('/procurement/requisitions/{id}/convert', {
      params: { path: { id: req.id }, header: { ...ik(), 'If-Match': '"v3"' } },
      body: { vendor_id: 'ven_fast', prices: { glue: '7.90', drill: '99.00', bolt: '5.00' } },
    });
    t.equal(converted.response.status, 200, JSON.stringify(converted.error));
    t.match(converted.data, { status: 'ORDERED', etag: '"v4"' });
    const poIds = converted.data!.purchase_order_ids;
    t.equal(poIds.length, 2, 'one order per vendor');
    const orders = await Promise.all(
      poIds.map(async (id) =>
        ok(await api.GET('/procurement/purchase-orders/{id}', { params: { path: { id } } })),
      ),
    );
    const fast = orders.find((o) => o.vendor_id === 'ven_fast')!;
    const tools = orders.find((o) => o.vendor_id === 'ven_tools')!;
    t.match(fast, {
      status: 'DRAFT',
      currency: 'EUR',
      requisition_id: req.id,
      number: /^PO-\d{6}$/,
    });
    t.match(
      fast.lines,
      [
        { item_id: 'bolt', qty: 120, unit_price: '0.40' },
        { item_id: 'glue', qty: 6, unit_price: '7.90' },
      ],
      "a line's own unit_price wins over prices",
    );
    t.match(tools, {
      status: 'DRAFT',
      currency: 'USD',
      requisition_id: req.id,
      lines: [{ item_id: 'drill', qty: 2, unit_price: '99.00' }],
    });
    t.equal(
      (await convert('"v4"', { vendor_id: 'ven_fast' })).status,
      409,
      'an ORDERED requisition cannot be converted again',
    );

    const list = ok(
      await api.GET('/procurement/requisitions', { params: { query: { status: 'ORDERED' } } }),
    );
    t.same(
      list.data.map((r) => r.id),
      [req.id],
    );
    t.same(
      ok(await api.GET('/procurement/requisitions', { params: { query: { status: 'DRAFT' } } }))
        .data,
      [],
    );
  },
);

t.test(
  'requisition: 422 for unknown items and vendors, requester_id of the token, 404',
  async (t) => {
    const s = await startServer(t);
    const api = s.client();
    await seedCatalogue(api);
    const bad = await s.request('/procurement/requisitions', {
      method: 'POST',
      headers: ik(),
      json: {
        lines: [
          { item_id: 'nope', qty: 1 },
          { item_id: 'bolt', qty: 1, vendor_id: 'ven_nope' },
        ],
      },
    });
    t.equal(bad.status, 422);
    t.match((await bad.json()).errors, [
      { pointer: '#/lines/0/item_id', code: 'unknown_item' },
      { pointer: '#/lines/1/vendor_id', code: 'unknown_vendor' },
    ]);
    const zero = await s.request('/procurement/requisitions', {
      method: 'POST',
      headers: ik(),
      json: { lines: [{ item_id: 'bolt', qty: 0 }] },
    });
    t.equal(zero.status, 422);
    const made = ok(
      await api.POST('/procurement/requisitions', {
        params: { header: ik() },
        body: { requester_id: 'tester', lines: [{ item_id: 'bolt', qty: 1 }] },
      }),
    );
    t.equal(made.requester_id, 'tester', "the token's own sub may be given");
    t.equal(
      (await api.GET('/procurement/requisitions/{id}', { params: { path: { id: 'req_nope' } } }))
        .response.status,
      404,
    );
  },
);
