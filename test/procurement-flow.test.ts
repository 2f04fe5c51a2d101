// The whole procurement flow through the generated SDK: requisition → approve → convert → PO →
// PUT with ETag → send → two partial receipts (batches, then serials) → invoice → MATCHED, with
// stock and order status checked at every step and the order's audit trail at the end.
import t from 'tap';
import { startServer } from './helpers/server.ts';
import type { ApiClient } from '../generated/client.ts';
import { ik, ok, seedCatalogue } from './helpers/procurement.ts';

/** item → on hand in WH-A, from the stock-levels endpoint. */
async function stock(api: ApiClient): Promise<Record<string, number>> {
  const levels = ok(
    await api.GET('/inventory/stock-levels', { params: { query: { warehouse_id: 'WH-A' } } }),
  ).data;
  return Object.fromEntries(levels.map((l) => [l.item_id, l.on_hand]));
}

t.test('requisition to matched invoice', async (t) => {
  const s = await startServer(t);
  const api = s.client({ sub: 'buyer' });
  await seedCatalogue(api);
  const receiver = s.client({ sub: 'receiver', scope: 'inventory:read inventory:write' });
  // Separation of duties: the buyer asks, a manager approves.
  const manager = s.client({ sub: 'manager', scope: 'inventory:read procurement:approve' });

  const req = ok(
    await api.POST('/procurement/requisitions', {
      params: { header: ik() },
      body: {
        lines: [
          { item_id: 'bolt', qty: 100, vendor_id: 'ven_fast', unit_price: '0.10' },
          { item_id: 'glue', qty: 10, vendor_id: 'ven_fast', unit_price: '7.90' },
          { item_id: 'drill', qty: 2, vendor_id: 'ven_fast' },
        ],
      },
    }),
  );
  const approved = ok(
    await manager.POST('/procurement/requisitions/{id}/approve', {
      params: { path: { id: req.id }, header: { ...ik(), 'If-Match': req.etag } },
    }),
  );
  const converted = ok(
    await api.POST('/procurement/requisitions/{id}/convert', {
      params: { path: { id: req.id }, header: { ...ik(), 'If-Match': approved.etag } },
      body: { prices: { drill: '120.00' } },
    }),
  );
  t.equal(converted.status, 'ORDERED');
  t.equal(converted.purchase_order_ids.length, 1);
  const poId = converted.purchase_order_ids[0];
  const getPo = async () =>
    ok(await api.GET('/procurement/purchase-orders/{id}', { params: { path: { id: poId } } }));
  const draft = await getPo();
  t.match(draft, { status: 'DRAFT', requisition_id: req.id, currency: 'EUR', etag: '"v1"' });

  // The buyer negotiates the bolts down before sending.
  const [bolt, glue, drill] = draft.lines;
  const edited = await api.PUT('/procurement/purchase-orders/{id}', {
    params: { path: { id: poId }, header: { 'If-Match': draft.etag } },
    body: {
      vendor_id: 'ven_fast',
      currency: 'EUR',
      lines: [{ ...pick(bolt), unit_price: '0.09' }, pick(glue), pick(drill)],
    },
  });
  t.equal(edited.response.status, 200);
  t.equal(edited.response.headers.get('etag'), '"v2"');
  const sent = ok(
    await api.POST('/procurement/purchase-orders/{id}/send', {
      params: { path: { id: poId }, header: { ...ik(), 'If-Match': edited.data!.etag } },
    }),
  );
  t.match(sent, { status: 'SENT', etag: '"v3"' });
  t.same(await stock(api), {}, 'nothing in stock yet');

  // First partial receipt: all the bolts and part of the glue, in two batches.
  const first = ok(
    await receiver.POST('/procurement/receipts', {
      params: { header: ik() },
      body: {
        po_id: poId,
        warehouse_id: 'WH-A',
        lines: [
          { po_line_id: bolt.id, qty_received: 100 },
          {
            po_line_id: glue.id,
            qty_received: 4,
            batch: 'G-1',
            expires_at: '2027-06-30T00:00:00Z',
          },
          {
            po_line_id: glue.id,
            qty_received: 2,
            batch: 'G-2',
            expires_at: '2027-09-30T00:00:00Z',
          },
        ],
      },
    }),
  );
  t.match(first, { status: 'POSTED', created_by: 'receiver', match: { status: 'PENDING' } });
  t.same(await stock(api), { bolt: 100, glue: 6 });
  const glueLevel = ok(
    await api.GET('/inventory/stock-levels', {
      params: { query: { item_id: 'glue', warehouse_id: 'WH-A' } },
    }),
  ).data[0];
  t.same(glueLevel.batches, [
    { batch: 'G-1', on_hand: 4, expires_at: '2027-06-30T00:00:00.000Z' },
    { batch: 'G-2', on_hand: 2, expires_at: '2027-09-30T00:00:00.000Z' },
  ]);
  t.match(await getPo(), {
    status: 'SENT',
    etag: '"v4"',
    lines: [{ qty_received: 100 }, { qty_received: 6 }, { qty_received: 0 }],
  });

  // Second partial receipt: the rest of the glue and the serial-numbered drills.
  const second = ok(
    await receiver.POST('/procurement/receipts', {
      params: { header: ik() },
      body: {
        po_id: poId,
        warehouse_id: 'WH-A',
        lines: [
          {
            po_line_id: glue.id,
            qty_received: 4,
            batch: 'G-2',
            expires_at: '2027-09-30T00:00:00Z',
          },
          { po_line_id: drill.id, qty_received: 2, serials: ['DR-0001', 'DR-0002'] },
        ],
      },
    }),
  );
  t.equal(second.status, 'POSTED');
  t.same(await stock(api), { bolt: 100, drill: 2, glue: 10 });
  t.match(
    ok(await api.GET('/inventory/serials', { params: { query: { item_id: 'drill' } } })).data,
    [
      { serial: 'DR-0001', warehouse_id: 'WH-A', status: 'IN_STOCK' },
      { serial: 'DR-0002', warehouse_id: 'WH-A', status: 'IN_STOCK' },
    ],
  );
  const received = await getPo();
  t.match(
    received,
    {
      status: 'RECEIVED',
      etag: '"v5"',
      lines: [{ qty_received: 100 }, { qty_received: 10 }, { qty_received: 2 }],
    },
    'RECEIVED once every line is',
  );

  // The vendor invoices exactly what was ordered and received.
  const invoice = ok(
    await api.POST('/procurement/invoices', {
      params: { header: ik() },
      body: {
        po_id: poId,
        number: 'F-2026-118',
        lines: [
          { po_line_id: bolt.id, qty: 100, unit_price: '0.09' },
          { po_line_id: glue.id, qty: 10, unit_price: '7.90' },
          { po_line_id: drill.id, qty: 2, unit_price: '120.00' },
        ],
      },
    }),
  );
  t.match(invoice, {
    match_status: 'MATCHED',
    lines: [{ status: 'MATCHED', reasons: [] }, { status: 'MATCHED' }, { status: 'MATCHED' }],
  });
  const match = ok(
    await api.GET('/procurement/purchase-orders/{id}/match', { params: { path: { id: poId } } }),
  );
  t.equal(match.status, 'MATCHED');
  t.same(
    match.lines.map((l) => [
      l.ordered,
      l.received,
      l.invoiced,
      l.invoiced_unit_price,
      l.price_variance,
      l.status,
    ]),
    [
      [100, 100, 100, '0.09', '0.00', 'MATCHED'],
      [10, 10, 10, '7.90', '0.00', 'MATCHED'],
      [2, 2, 2, '120.00', '0.00', 'MATCHED'],
    ],
  );
  t.same(
    ok(await receiver.GET('/procurement/receipts/{id}', { params: { path: { id: first.id } } }))
      .match,
    match,
    "the receipt's match is the order's",
  );
  const closed = ok(
    await api.POST('/procurement/purchase-orders/{id}/close', {
      params: { path: { id: poId }, header: { ...ik(), 'If-Match': (await getPo()).etag } },
    }),
  );
  t.equal(closed.status, 'CLOSED');

  // The order's audit trail: every change, by whom, with before and after.
  const trail = ok(
    await api.GET('/inventory/audit', {
      params: { query: { entity: 'purchase_order', id: poId } },
    }),
  ).data.reverse() as {
    action: string;
    actor: string;
    request_id: string;
    before: any;
    after: any;
  }[];
  t.same(
    trail.map((e) => [e.action, e.actor]),
    [
      ['purchase_order.created', 'buyer'],
      ['purchase_order.updated', 'buyer'],
      ['purchase_order.sent', 'buyer'],
      ['purchase_order.received', 'receiver'],
      ['purchase_order.received', 'receiver'],
      ['purchase_order.invoiced', 'buyer'],
      ['purchase_order.closed', 'buyer'],
    ],
  );
  t.same(
    trail.map((e) => e.after.etag),
    ['"v1"', '"v2"', '"v3"', '"v4"', '"v5"', '"v6"', '"v7"'],
    'one entry per version',
  );
  t.ok(
    trail.slice(1).every((e, i) => e.before.etag === trail[i].after.etag),
    'each entry starts where the previous one ended',
  );
  t.equal(trail[4].after.status, 'RECEIVED');
  t.equal(
    new Set(trail.map((e) => e.request_id)).size,
    trail.length,
    'each entry names the request that made it',
  );
  for (const receipt of [first, second]) {
    const entries = ok(
      await api.GET('/inventory/audit', {
        params: { query: { entity: 'receipt', id: receipt.id } },
      }),
    ).data;
    t.same(
      entries.map((e) => e.action),
      ['receipt.posted'],
    );
    const moveEntries = ok(
      await api.GET('/inventory/audit', {
        params: { query: { entity: 'stock_move', id: receipt.stock_move_id } },
      }),
    ).data;
    t.same(
      moveEntries.map((e) => e.action),
      ['stock_move.posted'],
      'the ledger audited the stock move of the receipt',
    );
  }
});

function pick({
  id,
  item_id,
  qty,
  unit_price,
}: {
  id: string;
  item_id: string;
  qty: number;
  unit_price: string;
}) {
  return { id, item_id, qty, unit_price };
}
