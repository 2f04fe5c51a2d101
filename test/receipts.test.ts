import t from 'tap';
import { startServer, type TestServer } from './helpers/server.ts';
import { createPo, ik, ok, receive, seedCatalogue, sentPo } from './helpers/procurement.ts';
import { level } from './helpers/stock.ts';

async function onHand(s: TestServer, item: string, warehouse = 'WH-A'): Promise<number> {
  return (await level(s.client(), item, warehouse))?.on_hand ?? 0;
}

async function count(s: TestServer, table: 'stock_moves' | 'receipts' | 'outbox'): Promise<number> {
  const [{ n }] = await s.sql`SELECT count(*)::int AS n FROM ${s.sql(table)}`;
  return n;
}

t.test(
  '20 concurrent receipts of 1 against a line of 10: exactly 10 posted, 10 get 409 over-receipt',
  async (t) => {
    const s = await startServer(t);
    const api = s.client();
    await seedCatalogue(api);
    const po = await sentPo(api, { lines: [{ item_id: 'bolt', qty: 10, unit_price: '0.50' }] });
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        api.POST('/procurement/receipts', {
          params: { header: ik() },
          body: {
            po_id: po.id,
            warehouse_id: 'WH-A',
            lines: [{ po_line_id: po.lines[0].id, qty_received: 1 }],
          },
        }),
      ),
    );
    const statuses = results.map((r) => r.response.status);
    t.equal(statuses.filter((x) => x === 201).length, 10, 'ten posted');
    t.equal(statuses.filter((x) => x === 409).length, 10, 'ten refused');
    for (const r of results.filter((x) => x.response.status === 409)) {
      t.match(r.error, {
        type: 'https://problems.inventory-api.dev/over-receipt',
        po_line_id: po.lines[0].id,
        ordered: 10,
        received: 10,
        requested: 1,
      });
    }
    t.equal(await onHand(s, 'bolt'), 10, 'stock came in exactly ten times');
    t.equal(await count(s, 'stock_moves'), 10);
    const now = ok(
      await api.GET('/procurement/purchase-orders/{id}', { params: { path: { id: po.id } } }),
    );
    t.match(now, { status: 'RECEIVED', lines: [{ qty_received: 10 }] });
    const [{ sum }] =
      await s.sql`SELECT sum(qty_received)::float AS sum FROM receipt_lines JOIN receipts r ON r.id = receipt_id WHERE r.status = 'POSTED'`;
    t.equal(sum, 10, 'invariant 3: qty_received is the sum of posted receipt lines');
  },
);

t.test(
  'a retried receipt POST with the same Idempotency-Key posts stock once and replays the 201',
  async (t) => {
    const s = await startServer(t);
    const api = s.client();
    await seedCatalogue(api);
    const po = await sentPo(api, { lines: [{ item_id: 'bolt', qty: 10, unit_price: '0.50' }] });
    const key = { 'Idempotency-Key': 'receipt-retry-1' };
    const body = {
      po_id: po.id,
      warehouse_id: 'WH-A',
      lines: [{ po_line_id: po.lines[0].id, qty_received: 4 }],
    };
    const first = await api.POST('/procurement/receipts', { params: { header: key }, body });
    t.equal(first.response.status, 201);
    t.notOk(first.response.headers.get('idempotent-replayed'));
    const retry = await api.POST('/procurement/receipts', { params: { header: key }, body });
    t.equal(retry.response.status, 201);
    t.equal(retry.response.headers.get('idempotent-replayed'), 'true');
    t.same(retry.data, first.data, 'the same body');
    t.equal(retry.response.headers.get('location'), first.response.headers.get('location'));
    t.equal(retry.response.headers.get('etag'), first.response.headers.get('etag'));
    // Retries racing each other (a client that timed out and retried several times at once).
    const racing = await Promise.all(
      Array.from({ length: 5 }, () =>
        api.POST('/procurement/receipts', { params: { header: key }, body }),
      ),
    );
    t.same(
      racing.map((r) => r.response.status),
      [201, 201, 201, 201, 201],
    );
    t.ok(racing.every((r) => r.data?.id === first.data!.id));
    t.equal(await onHand(s, 'bolt'), 4, 'stock posted once');
    t.equal(await count(s, 'receipts'), 1);
    t.equal(await count(s, 'stock_moves'), 1);
    const events = await s.sql`SELECT type, count(*)::int AS n FROM outbox
                  WHERE type NOT IN ('inventory.item.created', 'inventory.warehouse.created', 'procurement.vendor.created')
                  GROUP BY type ORDER BY type`;
    t.same(
      events,
      [
        { type: 'inventory.receipt.posted', n: 1 },
        { type: 'inventory.stock_level.changed', n: 1 },
        { type: 'inventory.stock_move.posted', n: 1 },
        { type: 'procurement.purchase_order.created', n: 1 },
        { type: 'procurement.purchase_order.received', n: 1 },
        { type: 'procurement.purchase_order.sent', n: 1 },
        { type: 'procurement.receipt.created', n: 1 },
      ],
      'one event of each kind',
    );
    const reused = await api.POST('/procurement/receipts', {
      params: { header: key },
      body: { ...body, lines: [{ ...body.lines[0], qty_received: 5 }] },
    });
    t.equal(reused.response.status, 422, 'the same key with another body is refused');
  },
);

t.test(
  'receipt validation: 422 for what does not belong or breaks batch/serial rules, 409 for the wrong state, 403 for a forbidden warehouse',
  async (t) => {
    const s = await startServer(t);
    const api = s.client();
    await seedCatalogue(api);
    const po = await sentPo(api, {
      lines: [
        { item_id: 'bolt', qty: 10, unit_price: '0.50' },
        { item_id: 'glue', qty: 5, unit_price: '7.90' },
        { item_id: 'drill', qty: 2, unit_price: '99' },
      ],
    });
    const [bolt, glue, drill] = po.lines.map((l) => l.id);
    const post = (json: any, token?: any) =>
      s.request('/procurement/receipts', {
        method: 'POST',
        json: { po_id: po.id, warehouse_id: 'WH-A', ...json },
        headers: ik(),
        token,
      });
    const errors = async (json: any) => {
      const res = await post(json);
      t.equal(res.status, 422);
      return (await res.json()).errors;
    };
    t.match(await errors({ po_id: 'po_nope', lines: [{ po_line_id: bolt, qty_received: 1 }] }), [
      { pointer: '#/po_id', code: 'unknown_purchase_order' },
    ]);
    t.match(
      await errors({ warehouse_id: 'WH-Z', lines: [{ po_line_id: 'pol_nope', qty_received: 1 }] }),
      [
        { pointer: '#/warehouse_id', code: 'unknown_warehouse' },
        { pointer: '#/lines/0/po_line_id', code: 'unknown_po_line' },
      ],
    );
    t.match(await errors({ lines: [{ po_line_id: bolt, qty_received: 0 }] }), [
      { pointer: '#/lines/0/qty_received' },
    ]);
    // Batch and serial rules are the ledger's; its errors point into the receipt's body.
    t.same(
      await errors({
        lines: [
          { po_line_id: bolt, qty_received: 1 },
          { po_line_id: glue, qty_received: 1 },
        ],
      }),
      [
        {
          pointer: '#/lines/1/batch',
          code: 'required',
          detail: 'glue is tracked by batch: name the batch that comes in.',
        },
      ],
    );
    t.match(await errors({ lines: [{ po_line_id: drill, qty_received: 2, serials: ['D-1'] }] }), [
      { pointer: '#/lines/0/serials', code: 'serial_count' },
    ]);
    t.match(
      await errors({ lines: [{ po_line_id: drill, qty_received: 1.5, serials: ['D-1', 'D-2'] }] }),
      [{ pointer: '#/lines/0/qty_received', code: 'whole_number' }],
    );
    t.match(
      await errors({
        lines: [
          { po_line_id: drill, qty_received: 1, serials: ['D-1'] },
          { po_line_id: drill, qty_received: 1, serials: ['D-1'] },
        ],
      }),
      [{ pointer: '#/lines/1/serials/0', code: 'duplicate_serial' }],
    );
    t.match(await errors({ lines: [{ po_line_id: bolt, qty_received: 1, batch: 'B1' }] }), [
      { pointer: '#/lines/0/batch', code: 'not_allowed' },
    ]);
    t.match(await errors({ lines: [{ po_line_id: bolt, qty_received: 1, serials: ['S1'] }] }), [
      { pointer: '#/lines/0/serials', code: 'not_allowed' },
    ]);
    await receive(api, po, [{ po_line_id: drill, qty_received: 1, serials: ['D-1'] }]);
    t.match(
      await errors({ lines: [{ po_line_id: drill, qty_received: 1, serials: ['D-1'] }] }),
      [{ pointer: '#/lines/0/serials/0', code: 'serial_in_stock' }],
      'a serial already in stock',
    );
    t.equal(await onHand(s, 'bolt'), 0, 'nothing of the refused receipts came in');

    const over = await post({
      lines: [
        { po_line_id: bolt, qty_received: 6 },
        { po_line_id: bolt, qty_received: 5 },
      ],
    });
    t.equal(over.status, 409, 'lines of the same PO line are summed before checking');
    t.match(await over.json(), {
      type: 'https://problems.inventory-api.dev/over-receipt',
      po_line_id: bolt,
      ordered: 10,
      received: 0,
      requested: 11,
    });

    const forbidden = await post(
      { warehouse_id: 'WH-B', lines: [{ po_line_id: bolt, qty_received: 1 }] },
      { warehouses: ['WH-A'] },
    );
    t.equal(forbidden.status, 403);
    t.match(await forbidden.json(), {
      type: 'https://problems.inventory-api.dev/warehouse-forbidden',
      warehouse_id: 'WH-B',
    });

    const draft = await createPo(api);
    const onDraft = await s.request('/procurement/receipts', {
      method: 'POST',
      headers: ik(),
      json: {
        po_id: draft.id,
        warehouse_id: 'WH-A',
        lines: [{ po_line_id: draft.lines[0].id, qty_received: 1 }],
      },
    });
    t.equal(onDraft.status, 409);
    t.match(await onDraft.json(), {
      type: 'https://problems.inventory-api.dev/invalid-state',
      current_status: 'DRAFT',
    });
    ok(
      await api.POST('/procurement/purchase-orders/{id}/close', {
        params: {
          path: { id: po.id },
          header: {
            ...ik(),
            'If-Match': (
              await api.GET('/procurement/purchase-orders/{id}', {
                params: { path: { id: po.id } },
              })
            ).data!.etag,
          },
        },
      }),
    );
    const onClosed = await post({ lines: [{ po_line_id: bolt, qty_received: 1 }] });
    t.equal(onClosed.status, 409);
    t.match(await onClosed.json(), { current_status: 'CLOSED' });
  },
);

t.test(
  'draft receipts: PENDING without stock, ETag/304, PUT with If-Match, posted with /post',
  async (t) => {
    const s = await startServer(t);
    const api = s.client({ sub: 'clerk' });
    await seedCatalogue(api);
    const po = await sentPo(api, {
      lines: [
        { item_id: 'bolt', qty: 10, unit_price: '0.50' },
        { item_id: 'glue', qty: 5, unit_price: '7.90' },
      ],
    });
    const created = await api.POST('/procurement/receipts', {
      params: { header: ik() },
      body: {
        po_id: po.id,
        warehouse_id: 'WH-A',
        draft: true,
        lines: [{ po_line_id: po.lines[0].id, qty_received: 3 }],
      },
    });
    t.equal(created.response.status, 201, JSON.stringify(created.error));
    const draft = created.data!;
    t.match(draft, {
      id: /^rcpt_/,
      status: 'PENDING',
      etag: '"v1"',
      created_by: 'clerk',
      lines: [{ po_line_id: po.lines[0].id, item_id: 'bolt', qty_received: 3, serials: [] }],
    });
    t.notOk('stock_move_id' in draft);
    t.equal(created.response.headers.get('location'), `/procurement/receipts/${draft.id}`);
    t.equal(await onHand(s, 'bolt'), 0, 'a draft moves no stock');
    t.equal(
      (
        await s.request(`/procurement/receipts/${draft.id}`, {
          headers: { 'If-None-Match': '"v1"' },
        })
      ).status,
      304,
    );

    const body = {
      warehouse_id: 'WH-B',
      lines: [
        { po_line_id: po.lines[0].id, qty_received: 2 },
        {
          po_line_id: po.lines[1].id,
          qty_received: 1,
          batch: 'B-7',
          expires_at: '2027-01-31T00:00:00Z',
        },
      ],
    };
    const put = (etag?: string) =>
      s.request(`/procurement/receipts/${draft.id}`, {
        method: 'PUT',
        json: body,
        headers: etag ? { 'If-Match': etag } : {},
      });
    t.equal((await put()).status, 428);
    t.equal((await put('"v9"')).status, 412);
    const replaced = await put('"v1"');
    t.equal(replaced.status, 200);
    t.match(await replaced.json(), {
      warehouse_id: 'WH-B',
      etag: '"v2"',
      lines: [
        { qty_received: 2 },
        { item_id: 'glue', batch: 'B-7', expires_at: '2027-01-31T00:00:00.000Z' },
      ],
    });

    const postIt = (etag: string) =>
      api.POST('/procurement/receipts/{id}/post', {
        params: { path: { id: draft.id }, header: { ...ik(), 'If-Match': etag } },
      });
    t.equal((await postIt('"v1"')).response.status, 412);
    const posted = await postIt('"v2"');
    t.equal(posted.response.status, 200, JSON.stringify(posted.error));
    t.match(posted.data, {
      status: 'POSTED',
      etag: '"v3"',
      stock_move_id: /^sm_/,
      posted_at: String,
      warehouse_id: 'WH-B',
    });
    t.equal(posted.response.headers.get('etag'), '"v3"');
    t.equal(await onHand(s, 'bolt', 'WH-B'), 2);
    t.equal(await onHand(s, 'glue', 'WH-B'), 1);
    t.match(posted.data!.match, {
      po_id: po.id,
      status: 'PENDING',
      lines: [{ received: 2 }, { received: 1 }],
    });
    const [move] =
      await s.sql`SELECT receipt_id, reference, type, to_wh FROM stock_moves WHERE id = ${posted.data!.stock_move_id!}`;
    t.same(
      move,
      { receipt_id: draft.id, reference: po.number, type: 'RECEIPT', to_wh: 'WH-B' },
      'the move names its receipt and order',
    );
    t.equal((await postIt('"v3"')).response.status, 409, 'posted once only');
    const reversal = await api.POST('/inventory/stock-moves/{id}/reverse', {
      params: { path: { id: posted.data!.stock_move_id! }, header: ik() },
    });
    t.equal(
      reversal.response.status,
      409,
      "a receipt's stock move cannot be reversed behind the order's back (invariant 3)",
    );
    t.equal((await put('"v3"')).status, 409, 'a POSTED receipt cannot change');
    const [event] = await s.sql`SELECT payload FROM outbox WHERE type = 'inventory.receipt.posted'`;
    // The order ships to no warehouse: its match is for unrestricted readers only, and WH-B's
    // endpoints receive the event (docs/standards.md §3).
    const { match: _, ...receipt } = posted.data!;
    t.same(
      event.payload.data,
      receipt,
      "the event carries the receipt, without an unassigned order's match",
    );

    // Lists: filters, and a token limited to WH-A sees neither the receipt in WH-B nor may it open it.
    const other = await receive(api, po, [{ po_line_id: po.lines[0].id, qty_received: 1 }]);
    const ids = async (query: Record<string, string>, token?: any) =>
      ok(await s.client(token).GET('/procurement/receipts', { params: { query } })).data.map(
        (r) => r.id,
      );
    t.same(await ids({}), [other.id, draft.id]);
    t.same(await ids({ status: 'POSTED', po_id: po.id }), [other.id, draft.id]);
    t.same(await ids({ status: 'PENDING' }), []);
    t.same(await ids({}, { warehouses: ['WH-A'] }), [other.id]);
    t.equal(
      (
        await s
          .client({ warehouses: ['WH-A'] })
          .GET('/procurement/receipts/{id}', { params: { path: { id: draft.id } } })
      ).response.status,
      403,
    );
    t.equal(
      (await api.GET('/procurement/receipts/{id}', { params: { path: { id: 'rcpt_nope' } } }))
        .response.status,
      404,
    );
  },
);

t.test(
  'a draft receipt is refused like a posting when its lines lack what the item tracking needs; 422 comes before 409',
  async (t) => {
    const s = await startServer(t);
    const api = s.client();
    await seedCatalogue(api);
    const po = await sentPo(api, {
      lines: [
        { item_id: 'glue', qty: 10, unit_price: '4.00' },
        { item_id: 'drill', qty: 2, unit_price: '90.00' },
      ],
    });
    const [glue, drill] = po.lines.map((l) => l.id);
    const draft = await s.request('/procurement/receipts', {
      method: 'POST',
      headers: ik(),
      json: {
        po_id: po.id,
        warehouse_id: 'WH-A',
        draft: true,
        lines: [
          { po_line_id: glue, qty_received: 2 },
          { po_line_id: drill, qty_received: 2, serials: ['D-1'] },
        ],
      },
    });
    t.equal(draft.status, 422);
    const problem = await draft.json();
    t.match(problem, { type: 'https://problems.inventory-api.dev/validation-error' });
    t.ok(
      problem.errors.some((e: { pointer: string }) => e.pointer === '#/lines/0/batch'),
      'the batch-tracked line needs a batch',
    );
    t.ok(
      problem.errors.some((e: { pointer: string }) => e.pointer.startsWith('#/lines/1/serials')),
      'the serial-tracked line needs one serial per unit',
    );
    t.equal(await count(s, 'receipts'), 0, 'nothing stored');

    const unsent = await createPo(api);
    const onDraftPo = await s.request('/procurement/receipts', {
      method: 'POST',
      headers: ik(),
      json: {
        po_id: unsent.id,
        warehouse_id: 'WH-NOPE',
        lines: [{ po_line_id: unsent.lines[0].id, qty_received: 1 }],
      },
    });
    t.equal(
      onDraftPo.status,
      422,
      'an invalid body is a 422 even against an order in the wrong state',
    );
    t.match(await onDraftPo.json(), { errors: [{ pointer: '#/warehouse_id' }] });
  },
);
