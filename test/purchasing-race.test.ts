// Every purchasing transition at once on one purchase order: change orders, receipts, receipt
// reversals, vendor returns, cancellations of a line's remainder and issues of the received stock,
// 30 requests racing. Which of them win depends on the interleaving; what may not depend on it is
// that each answer is a success or a 409/412/422 (never a 5xx), and that afterwards the order's
// figures are exactly the sum of the documents that succeeded, its stock the ledger's, and its
// match report what those documents say.
import t from 'tap';
import { checkInvariants } from '../scripts/lib/invariants.ts';
import { startServer, type TestServer } from './helpers/server.ts';
import { eventsDispatched } from './helpers/wait.ts';
import { ik, ok, receive, seedCatalogue, sentPo } from './helpers/procurement.ts';
import type { components } from '../generated/client.ts';

type PurchaseOrder = components['schemas']['PurchaseOrder'];
type Receipt = components['schemas']['Receipt'];

interface Outcome {
  kind: string;
  status: number;
  body: any;
}

async function call(
  s: TestServer,
  kind: string,
  path: string,
  json: unknown,
  ifMatch?: string,
): Promise<Outcome> {
  const res = await s.request(path, {
    method: 'POST',
    headers: { ...ik(), ...(ifMatch && { 'If-Match': ifMatch }) },
    json,
  });
  return { kind, status: res.status, body: await res.json() };
}

async function getPo(s: TestServer, id: string): Promise<PurchaseOrder> {
  return ok(
    await s.client().GET('/procurement/purchase-orders/{id}', { params: { path: { id } } }),
  );
}

t.test('30 racing purchasing requests on one order: the figures are the documents', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  await seedCatalogue(api);
  const po = await sentPo(api, {
    ship_to_warehouse_id: 'WH-A',
    lines: [
      { item_id: 'bolt', qty: 20, unit_price: '0.50' },
      { item_id: 'bolt', qty: 20, unit_price: '0.60' },
      { item_id: 'bolt', qty: 10, unit_price: '0.70' },
    ],
  });
  const [l1, l2, l3] = po.lines.map((l) => l.id);
  const received: Receipt[] = [];
  for (const [line, qty] of [
    [l1, 6],
    [l2, 5],
    [l1, 3],
    [l3, 4],
  ] as const)
    received.push(await receive(api, po, [{ po_line_id: line, qty_received: qty }]));
  ok(
    await api.POST('/procurement/invoices', {
      params: { header: ik() },
      body: {
        po_id: po.id,
        number: 'INV-RACE-1',
        lines: [{ po_line_id: l1, qty: 9, unit_price: '0.50' }],
      },
    }),
  );
  const before = await getPo(s, po.id);

  const lineOf = (id: string) => {
    const l = before.lines.find((x) => x.id === id)!;
    return { id, item_id: l.item_id, qty: l.qty, unit_price: l.unit_price };
  };
  const revise = (n: number, lines: unknown[]) =>
    call(
      s,
      'revision',
      `/procurement/purchase-orders/${po.id}/revisions`,
      { reason: `race ${n}`, lines },
      before.etag,
    );
  const requests: Promise<Outcome>[] = [
    // Change orders, all from the same read: one may win, the others meet a changed ETag.
    revise(1, [{ ...lineOf(l1), qty: 25 }, lineOf(l2), lineOf(l3)]),
    revise(2, [lineOf(l1), { ...lineOf(l2), qty: 12, unit_price: '0.55' }, lineOf(l3)]),
    revise(3, [
      lineOf(l1),
      lineOf(l2),
      lineOf(l3),
      { item_id: 'bolt', qty: 8, unit_price: '0.40' },
    ]),
    revise(4, [lineOf(l1), { ...lineOf(l3), qty: 4 }]), // removes line 2, which has receipts
    // Receipts: each within what was ordered on its own, too much together.
    ...[l1, l1, l2, l2, l3, l3].map((line, i) =>
      call(s, 'receipt', '/procurement/receipts', {
        po_id: po.id,
        warehouse_id: 'WH-A',
        lines: [{ po_line_id: line, qty_received: 3 + (i % 3) }],
      }),
    ),
    // Each earlier receipt reversed twice: at most one of the two may succeed.
    ...received.flatMap((r) =>
      [0, 1].map(() =>
        call(s, 'reversal', `/procurement/receipts/${r.id}/reverse`, { reason: 'race' }, r.etag),
      ),
    ),
    // Returns to the vendor of what was received, more than was received together.
    ...[l1, l1, l2, l3].map((line) =>
      call(s, 'return', '/procurement/vendor-returns', {
        po_id: po.id,
        warehouse_id: 'WH-A',
        reason: 'damaged in transit',
        lines: [{ po_line_id: line, qty: 3 }],
      }),
    ),
    // The rest of two lines cancelled, from the same read as the change orders.
    call(
      s,
      'cancel',
      `/procurement/purchase-orders/${po.id}/lines/${l3}/cancel-remaining`,
      {},
      before.etag,
    ),
    call(
      s,
      'cancel',
      `/procurement/purchase-orders/${po.id}/lines/${l2}/cancel-remaining`,
      {},
      before.etag,
    ),
    // Stock leaving the warehouse, so that some reversals and returns find it gone.
    ...[7, 7].map((qty) =>
      call(s, 'issue', '/inventory/stock-moves', {
        type: 'ISSUE',
        from_wh: 'WH-A',
        lines: [{ item_id: 'bolt', qty }],
      }),
    ),
  ];
  t.ok(requests.length >= 20, `${requests.length} requests`);
  const outcomes = await Promise.all(requests);

  const allowed: Record<string, number[]> = {
    revision: [201, 200, 409, 412, 422],
    receipt: [201, 409],
    reversal: [200, 201, 409, 412],
    return: [201, 409, 422],
    cancel: [200, 409, 412],
    issue: [201, 409],
  };
  for (const o of outcomes)
    t.ok(
      allowed[o.kind].includes(o.status),
      `${o.kind} → ${o.status} ${o.status >= 300 ? (o.body.type ?? '') : ''}`,
    );
  const won = (kind: string) => outcomes.filter((o) => o.kind === kind && o.status < 300);
  t.ok(won('revision').length <= 1, 'one ETag, at most one change order');
  t.ok(won('cancel').length + won('revision').length <= 1, 'one ETag, at most one of them');
  for (const r of received) {
    const reversals = outcomes.filter(
      (o) => o.kind === 'reversal' && o.status < 300 && o.body.id === r.id,
    );
    t.ok(reversals.length <= 1, `receipt ${r.id} reversed at most once`);
  }

  await eventsDispatched(s.sql);
  const after = await getPo(s, po.id);
  const [docs] = await s.sql`
    SELECT
      (SELECT count(*)::int FROM receipts WHERE po_id = ${po.id}) AS receipts,
      (SELECT count(*)::int FROM receipts WHERE po_id = ${po.id} AND reversed_at IS NOT NULL) AS reversed,
      (SELECT count(*)::int FROM vendor_returns WHERE po_id = ${po.id}) AS returns`;
  t.equal(
    docs.receipts,
    received.length + won('receipt').length,
    'every receipt that won, no more',
  );
  t.equal(docs.reversed, won('reversal').length, 'every reversal that won, no more');
  t.equal(docs.returns, won('return').length, 'every return that won, no more');
  t.equal(
    after.revision,
    before.revision + won('revision').length,
    'revision counts change orders',
  );

  // Each line's figures recomputed from the documents that exist now.
  const sums = await s.sql<{ id: string; received: number; returned: number }[]>`
    SELECT pl.id,
      coalesce((SELECT sum(rl.qty_received) FROM receipt_lines rl JOIN receipts r ON r.id = rl.receipt_id
                WHERE rl.po_line_id = pl.id AND r.status = 'POSTED' AND r.reversed_at IS NULL), 0)::float8 AS received,
      coalesce((SELECT sum(vl.qty) FROM vendor_return_lines vl WHERE vl.po_line_id = pl.id), 0)::float8 AS returned
    FROM purchase_order_lines pl WHERE pl.po_id = ${po.id}`;
  const byLine = new Map(sums.map((r) => [r.id, r]));
  for (const line of after.lines) {
    const doc = byLine.get(line.id)!;
    t.equal(line.qty_received, doc.received, `${line.id}: received = its receipts`);
    t.equal(line.qty_returned, doc.returned, `${line.id}: returned = its returns`);
    t.ok(line.qty_received + line.qty_cancelled <= line.qty, `${line.id}: within its quantity`);
    t.ok(line.qty_returned <= line.qty_received, `${line.id}: returned no more than received`);
  }
  t.ok(
    after.lines.some((l) => l.id === l2),
    'a line with receipts (even reversed ones) is never removed',
  );
  const open = after.lines.some((l) => l.qty_received + l.qty_cancelled < l.qty);
  const anyReceived = after.lines.some((l) => l.qty_received > 0);
  if (after.status === 'SENT') t.ok(open, 'SENT: something is open');
  if (after.status === 'RECEIVED') t.ok(!open && anyReceived, 'RECEIVED: nothing open');

  // The match report says what the documents say: invoiced 9 on line 1 at its price.
  const receipts = ok(
    await api.GET('/procurement/receipts', { params: { query: { po_id: po.id } } }),
  );
  const match = receipts.data[0].match!;
  const line1 = match.lines.find((l) => l.po_line_id === l1)!;
  const l1After = after.lines.find((l) => l.id === l1)!;
  t.equal(line1.invoiced, 9);
  t.equal(line1.received, l1After.qty_received - l1After.qty_returned, 'received net of returns');
  t.equal(
    line1.status,
    line1.received >= 9 ? 'MATCHED' : 'EXCEPTION',
    'line 1 matches exactly when what was kept covers what was invoiced',
  );

  t.strictSame((await checkInvariants(s.sql)).violations, [], 'stock equals the ledger');
  const [level] = await s.sql`
    SELECT on_hand::float8 FROM stock_levels WHERE item_id = 'bolt' AND warehouse_id = 'WH-A'`;
  const [moves] = await s.sql`
    SELECT coalesce(sum(CASE WHEN m.type = 'RECEIPT' THEN l.qty ELSE -l.qty END), 0)::float8 AS net
    FROM stock_move_lines l JOIN stock_moves m ON m.id = l.move_id
    WHERE l.item_id = 'bolt' AND (m.to_wh = 'WH-A' OR m.from_wh = 'WH-A')`;
  t.equal(level.on_hand, moves.net, 'on hand = receipts in − issues, reversals and returns out');
});
