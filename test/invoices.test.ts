import t from 'tap';
import { startServer } from './helpers/server.ts';
import { createPo, ik, ok, receive, seedCatalogue, sentPo } from './helpers/procurement.ts';

t.test(
  'invoice: recorded against PO lines, 409 duplicate-number per vendor, 422 for what does not belong, 409 on a DRAFT',
  async (t) => {
    const s = await startServer(t);
    const api = s.client({ sub: 'ap-clerk' });
    await seedCatalogue(api);
    const po = await sentPo(api, {
      lines: [
        { item_id: 'bolt', qty: 10, unit_price: '0.50' },
        { item_id: 'glue', qty: 4, unit_price: '7.90' },
      ],
    });
    const invoice = (body: any) =>
      s.request('/procurement/invoices', { method: 'POST', json: body, headers: ik() });
    const line = { po_line_id: po.lines[0].id, qty: 2, unit_price: '0.50' };

    const created = await api.POST('/procurement/invoices', {
      params: { header: ik() },
      body: { po_id: po.id, number: 'INV-1', lines: [line] },
    });
    t.equal(created.response.status, 201, JSON.stringify(created.error));
    t.match(created.data, {
      id: /^inv_/,
      vendor_id: 'ven_fast',
      po_id: po.id,
      number: 'INV-1',
      currency: 'EUR',
      created_by: 'ap-clerk',
    });
    t.equal(created.response.headers.get('location'), `/procurement/invoices/${created.data!.id}`);
    t.same(
      ok(
        await api.GET('/procurement/invoices/{id}', { params: { path: { id: created.data!.id } } }),
      ),
      created.data,
    );
    // Nothing is received yet, so invoicing anything is an exception.
    t.match(created.data, {
      match_status: 'EXCEPTION',
      lines: [
        {
          ...line,
          status: 'EXCEPTION',
          reasons: [
            { code: 'qty_invoiced_exceeds_received', detail: 'Invoiced 2 but received 0.' },
          ],
        },
      ],
    });
    const afterInvoice = ok(
      await api.GET('/procurement/purchase-orders/{id}', { params: { path: { id: po.id } } }),
    );
    t.match(
      afterInvoice,
      { etag: '"v3"', lines: [{ qty_invoiced: 2, qty_received: 0 }, { qty_invoiced: 0 }] },
      'the order shows what is invoiced, with a new ETag',
    );
    t.same(
      ok(
        await api.GET('/procurement/purchase-orders/{id}/match', {
          params: { path: { id: po.id } },
        }),
      ),
      {
        po_id: po.id,
        status: 'EXCEPTION',
        price_tolerance: 0,
        lines: [
          {
            po_line_id: po.lines[0].id,
            item_id: 'bolt',
            ordered: 10,
            received: 0,
            invoiced: 2,
            po_unit_price: '0.50',
            invoiced_unit_price: '0.50',
            price_variance: '0.00',
            status: 'EXCEPTION',
            reasons: [
              { code: 'qty_invoiced_exceeds_received', detail: 'Invoiced 2 but received 0.' },
            ],
          },
          {
            po_line_id: po.lines[1].id,
            item_id: 'glue',
            ordered: 4,
            received: 0,
            invoiced: 0,
            po_unit_price: '7.90',
            invoiced_unit_price: null,
            price_variance: null,
            status: 'PENDING',
            reasons: [],
          },
        ],
      },
    );

    const dup = await invoice({ po_id: po.id, number: 'inv-1', lines: [line] });
    t.equal(dup.status, 409);
    t.match(await dup.json(), {
      type: 'https://problems.inventory-api.dev/duplicate-number',
      number: 'inv-1',
    });
    // Another vendor may use the same number.
    const other = await sentPo(api, { vendor_id: 'ven_tools' });
    t.equal(
      (
        await invoice({
          po_id: other.id,
          number: 'INV-1',
          lines: [{ po_line_id: other.lines[0].id, qty: 1, unit_price: '0.50' }],
        })
      ).status,
      201,
    );

    const unknownPo = await invoice({ po_id: 'po_nope', number: 'INV-2', lines: [line] });
    t.equal(unknownPo.status, 422);
    t.match((await unknownPo.json()).errors, [
      { pointer: '#/po_id', code: 'unknown_purchase_order' },
    ]);
    const mismatched = await invoice({
      po_id: po.id,
      number: 'INV-2',
      vendor_id: 'ven_tools',
      currency: 'USD',
      lines: [line, { ...line, po_line_id: other.lines[0].id }],
    });
    t.equal(mismatched.status, 422);
    t.match((await mismatched.json()).errors, [
      { pointer: '#/vendor_id', code: 'vendor_mismatch' },
      { pointer: '#/currency', code: 'currency_mismatch' },
      { pointer: '#/lines/1/po_line_id', code: 'unknown_po_line' },
    ]);
    const draft = await createPo(api);
    const onDraft = await invoice({
      po_id: draft.id,
      number: 'INV-3',
      lines: [{ po_line_id: draft.lines[0].id, qty: 1, unit_price: '0.50' }],
    });
    t.equal(onDraft.status, 409);
    t.match(await onDraft.json(), {
      type: 'https://problems.inventory-api.dev/invalid-state',
      current_status: 'DRAFT',
    });

    const list = async (query: Record<string, string>) =>
      ok(await api.GET('/procurement/invoices', { params: { query } })).data.map(
        (i) => `${i.number}@${i.vendor_id}`,
      );
    t.same(await list({}), ['INV-1@ven_tools', 'INV-1@ven_fast']);
    t.same(await list({ vendor_id: 'ven_fast' }), ['INV-1@ven_fast']);
    t.same(await list({ po_id: other.id }), ['INV-1@ven_tools']);
    t.equal(
      (await api.GET('/procurement/invoices/{id}', { params: { path: { id: 'inv_nope' } } }))
        .response.status,
      404,
    );
  },
);

t.test(
  'invoice exceptions: over-invoiced quantity and a price outside tolerance, each with its reason',
  async (t) => {
    const s = await startServer(t, { env: { INVOICE_PRICE_TOLERANCE: '0.02' } });
    const api = s.client();
    await seedCatalogue(api);
    const po = await sentPo(api, { lines: [{ item_id: 'bolt', qty: 10, unit_price: '0.50' }] });
    const lineId = po.lines[0].id;
    await receive(api, po, [{ po_line_id: lineId, qty_received: 8 }]);
    const invoice = async (number: string, qty: number, unit_price: string) =>
      ok(
        await api.POST('/procurement/invoices', {
          params: { header: ik() },
          body: { po_id: po.id, number, lines: [{ po_line_id: lineId, qty, unit_price }] },
        }),
      );

    // 0.51 is 2% above 0.50: at the edge of the tolerance, still matched.
    const within = await invoice('A', 4, '0.51');
    t.match(within, { match_status: 'MATCHED', lines: [{ status: 'MATCHED', reasons: [] }] });

    const pricey = await invoice('B', 2, '0.52');
    t.match(pricey, { match_status: 'EXCEPTION', lines: [{ status: 'EXCEPTION' }] });
    t.same(
      pricey.lines[0].reasons.map((r) => r.code),
      ['price_outside_tolerance'],
      'the quantity is fine (6 of 8 received), the price is not',
    );
    t.match(pricey.lines[0].reasons[0].detail, /0\.52.*0\.50.*2%/);

    const tooMany = await invoice('C', 3, '0.50');
    t.match(tooMany, { match_status: 'EXCEPTION' });
    t.same(
      tooMany.lines[0].reasons,
      [{ code: 'qty_invoiced_exceeds_received', detail: 'Invoiced 9 but received 8.' }],
      'the price is fine, 9 invoiced of 8 received is not',
    );

    const match = ok(
      await api.GET('/procurement/purchase-orders/{id}/match', { params: { path: { id: po.id } } }),
    );
    t.match(match, { status: 'EXCEPTION', price_tolerance: 0.02 });
    t.match(match.lines[0], {
      ordered: 10,
      received: 8,
      invoiced: 9,
      po_unit_price: '0.50',
      invoiced_unit_price: '0.508889',
      price_variance: '0.008889',
      status: 'EXCEPTION',
    });
    t.same(
      match.lines[0].reasons.map((r) => r.code),
      ['qty_invoiced_exceeds_received', 'price_outside_tolerance'],
    );

    // Receiving the rest clears the quantity reason in the live report (the invoices keep their verdict).
    await receive(api, po, [{ po_line_id: lineId, qty_received: 2 }]);
    const later = ok(
      await api.GET('/procurement/purchase-orders/{id}/match', { params: { path: { id: po.id } } }),
    );
    t.same(
      later.lines[0].reasons.map((r) => r.code),
      ['price_outside_tolerance'],
    );
    t.equal(
      ok(await api.GET('/procurement/invoices/{id}', { params: { path: { id: tooMany.id } } }))
        .match_status,
      'EXCEPTION',
    );
    const exceptions = ok(
      await api.GET('/procurement/invoices', { params: { query: { match_status: 'EXCEPTION' } } }),
    ).data.map((i) => i.number);
    t.same(exceptions, ['C', 'B']);
  },
);
