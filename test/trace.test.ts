// GET /inventory/trace: a batch's or a serial's movements, oldest first, and where it is now; with
// the stock-move list's filters for the same question (batch, serial, reference, a time window).
import t, { type Test } from 'tap';
import type { components } from '../generated/api.ts';
import { ok, receive, seedCatalogue, sentPo } from './helpers/procurement.ts';
import { posted } from './helpers/stock.ts';
import { startServer, type TestServer } from './helpers/server.ts';
import type { TokenOptions } from './helpers/auth.ts';

type Trace = components['schemas']['Trace'];
type Entry = components['schemas']['TraceEntry'];

async function trace(
  s: TestServer,
  query: Record<string, string>,
  token: TokenOptions = {},
): Promise<{ status: number; body: any }> {
  const res = await s.request(`/inventory/trace?${new URLSearchParams(query)}`, { token });
  return { status: res.status, body: await res.json() };
}

/** Every entry of a trace, page by page, checking that on_hand is the same on each page. */
async function traceAll(
  t: Test,
  s: TestServer,
  query: Record<string, string>,
  token: TokenOptions = {},
) {
  const entries: Entry[] = [];
  let onHand: Trace['on_hand'] | undefined;
  let cursor: string | undefined;
  do {
    const { status, body } = await trace(
      s,
      { ...query, limit: '2', ...(cursor && { cursor }) },
      token,
    );
    t.equal(status, 200, JSON.stringify(body));
    entries.push(...(body as Trace).data);
    if (onHand) t.strictSame(body.on_hand, onHand, 'on_hand on every page');
    onHand = body.on_hand;
    cursor = body.page.next_cursor;
  } while (cursor);
  return { entries, onHand };
}

const brief = (e: Entry) => `${e.direction} ${e.warehouse_id} ${e.qty}`;

t.test('trace', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  await seedCatalogue(api);

  // In through a receipt of a WH-A order, then moved about, issued and counted.
  const po = await sentPo(api, {
    ship_to_warehouse_id: 'WH-A',
    lines: [
      { item_id: 'glue', qty: 30, unit_price: '7.90' },
      { item_id: 'drill', qty: 3, unit_price: '99.00' },
    ],
  });
  const receipt = await receive(api, po, [
    { po_line_id: po.lines[0].id, qty_received: 30, batch: 'B1' },
    { po_line_id: po.lines[1].id, qty_received: 3, serials: ['D1', 'D2', 'D3'] },
  ]);
  const transfer = await posted(api, {
    type: 'TRANSFER',
    from_wh: 'WH-A',
    to_wh: 'WH-B',
    reference: 'Rebalance',
    lines: [
      { item_id: 'glue', qty: 10, batch: 'B1' },
      { item_id: 'drill', qty: 1, serials: ['D1'] },
    ],
  });
  const issue = await posted(api, {
    type: 'ISSUE',
    from_wh: 'WH-B',
    reference: 'Job 7',
    lines: [
      { item_id: 'glue', qty: 4, batch: 'B1' },
      { item_id: 'drill', qty: 1, serials: ['D1'] },
    ],
  });
  const count = await posted(api, {
    type: 'ADJUSTMENT',
    to_wh: 'WH-A',
    reason: 'Cycle count',
    lines: [{ item_id: 'glue', qty: -1, batch: 'B1' }],
  });
  // An unassigned order's receipt into WH-A: its receipt is WH-A's, its vendor is not.
  const unassigned = await sentPo(api, {
    lines: [{ item_id: 'glue', qty: 5, unit_price: '7.90' }],
  });
  const other = await receive(api, unassigned, [
    { po_line_id: unassigned.lines[0].id, qty_received: 5, batch: 'B2' },
  ]);

  t.test('a batch: every movement in order, on_hand per warehouse', async (t) => {
    const { entries, onHand } = await traceAll(t, s, { item_id: 'glue', batch: 'B1' });
    t.strictSame(entries.map(brief), [
      'IN WH-A 30',
      'OUT WH-A 10',
      'IN WH-B 10',
      'OUT WH-B 4',
      'OUT WH-A 1',
    ]);
    t.strictSame(entries[0], {
      direction: 'IN',
      move_id: receipt.stock_move_id,
      receipt_id: receipt.id,
      po_id: po.id,
      vendor_id: 'ven_fast',
      reference: po.number,
      warehouse_id: 'WH-A',
      qty: 30,
      at: entries[0].at,
    });
    t.match(entries[1], { move_id: transfer.id, reference: 'Rebalance' });
    t.notOk('receipt_id' in entries[1]);
    t.match(entries[3], { move_id: issue.id, reference: 'Job 7' });
    t.match(entries[4], { move_id: count.id });
    const at = entries.map((e) => e.at);
    t.strictSame(at, [...at].sort(), 'oldest first');
    t.strictSame(onHand, [
      { warehouse_id: 'WH-A', qty: 19 },
      { warehouse_id: 'WH-B', qty: 6 },
    ]);
  });

  t.test('a serial: in, across, out; then nowhere', async (t) => {
    const d1 = await traceAll(t, s, { item_id: 'drill', serial: 'D1' });
    t.strictSame(d1.entries.map(brief), ['IN WH-A 1', 'OUT WH-A 1', 'IN WH-B 1', 'OUT WH-B 1']);
    t.match(d1.entries[0], { receipt_id: receipt.id, po_id: po.id, vendor_id: 'ven_fast' });
    t.strictSame(d1.onHand, [], 'issued: on hand nowhere');
    const d2 = await traceAll(t, s, { item_id: 'drill', serial: 'D2' });
    t.strictSame(d2.entries.map(brief), ['IN WH-A 1']);
    t.strictSame(d2.onHand, [{ warehouse_id: 'WH-A', qty: 1 }]);
  });

  t.test('a restricted token sees the entries and stock of its warehouses only', async (t) => {
    const b = await traceAll(t, s, { item_id: 'glue', batch: 'B1' }, { warehouses: ['WH-B'] });
    t.ok(
      b.entries.every((e) => e.warehouse_id === 'WH-B'),
      b.entries.map(brief).join(', '),
    );
    t.ok(b.entries.length >= 2);
    t.notOk(
      b.entries.some((e) => 'receipt_id' in e || 'vendor_id' in e),
      'no receipt of WH-A',
    );
    t.strictSame(b.onHand, [{ warehouse_id: 'WH-B', qty: 6 }]);

    const a = await traceAll(t, s, { item_id: 'glue', batch: 'B1' }, { warehouses: ['WH-A'] });
    t.strictSame(a.entries.map(brief), ['IN WH-A 30', 'OUT WH-A 10', 'OUT WH-A 1']);
    t.match(a.entries[0], { receipt_id: receipt.id, po_id: po.id, vendor_id: 'ven_fast' });

    const b2 = await traceAll(t, s, { item_id: 'glue', batch: 'B2' }, { warehouses: ['WH-A'] });
    t.equal(b2.entries.length, 1);
    t.match(b2.entries[0], { receipt_id: other.id, po_id: unassigned.id });
    t.notOk('vendor_id' in b2.entries[0], 'the vendor of an order the token cannot see');
    const all = await traceAll(t, s, { item_id: 'glue', batch: 'B2' });
    t.match(all.entries[0], { vendor_id: 'ven_fast' }, 'an unrestricted token sees it');

    const none = await traceAll(t, s, { item_id: 'glue', batch: 'B1' }, { warehouses: [] });
    t.strictSame(none, { entries: [], onHand: [] });
  });

  t.test('bad requests → 422 naming the parameter', async (t) => {
    for (const [query, pointer, code] of [
      [{ item_id: 'glue', batch: 'B1', serial: 'D1' }, '#/query/serial', 'not_allowed'],
      [{ item_id: 'glue' }, '#/query/batch', 'required'],
      [{ batch: 'B1' }, '#/query/item_id', 'required'],
      [{ item_id: 'nope', batch: 'B1' }, '#/query/item_id', 'unknown_item'],
      [{ item_id: 'drill', batch: 'B1' }, '#/query/batch', 'not_allowed'],
      [{ item_id: 'glue', serial: 'D1' }, '#/query/serial', 'not_allowed'],
    ] as const) {
      const { status, body } = await trace(s, query);
      t.equal(status, 422, JSON.stringify(query));
      t.match(body, {
        type: 'https://problems.inventory-api.dev/validation-error',
        errors: [{ pointer, code }],
      });
    }
    const first = await trace(s, { item_id: 'glue', batch: 'B1', limit: '1' });
    const reused = await trace(s, {
      item_id: 'glue',
      batch: 'B2',
      limit: '1',
      cursor: first.body.page.next_cursor,
    });
    t.equal(reused.status, 422);
    t.equal(reused.body.type, 'https://problems.inventory-api.dev/invalid-cursor');
  });

  t.test('the stock-move list finds the same moves', async (t) => {
    const ids = async (query: Record<string, string>) => {
      const res = await s.request(`/inventory/stock-moves?${new URLSearchParams(query)}`);
      const body = await res.json();
      t.equal(res.status, 200, JSON.stringify(body));
      return body.data.map((m: { id: string }) => m.id) as string[];
    };
    const b1 = await ids({ item_id: 'glue', batch: 'B1' });
    t.strictSame(b1, [count.id, issue.id, transfer.id, receipt.stock_move_id], 'newest first');
    t.strictSame(await ids({ item_id: 'glue', batch: 'B1', order: 'asc' }), [...b1].reverse());
    t.strictSame(await ids({ batch: 'B2' }), [other.stock_move_id]);
    t.strictSame(await ids({ item_id: 'bolt', batch: 'B1' }), [], 'batch and item on one line');
    const d1 = await ids({ serial: 'D1', order: 'asc' });
    t.strictSame(d1.slice(0, 3), [receipt.stock_move_id, transfer.id, issue.id]);
    t.strictSame(await ids({ reference: 'Rebalance' }), [transfer.id]);
    t.strictSame(await ids({ reference: 'Rebal' }), [], 'reference matches exactly');

    // [created_after, created_before): the transfer's own instant starts a window and ends another.
    const at = transfer.created_at;
    const from = await ids({ created_after: at, order: 'asc', batch: 'B1' });
    t.equal(from[0], transfer.id, 'created_after is inclusive');
    const before = await ids({ created_before: at, batch: 'B1' });
    t.strictSame(before, [receipt.stock_move_id], 'created_before is exclusive');

    const res = await s.request(
      `/inventory/stock-moves?created_after=${encodeURIComponent(at)}&created_before=${encodeURIComponent(at)}`,
    );
    t.equal(res.status, 422);
    t.match(await res.json(), {
      errors: [{ pointer: '#/query/created_before', code: 'empty_range' }],
    });
    for (const [query, pointer] of [
      ['created_after=soon', '#/query/created_after'],
      ['created_before=0000-01-01T00:00:00Z', '#/query/created_before'],
    ]) {
      const bad = await s.request(`/inventory/stock-moves?${query}`);
      t.equal(bad.status, 422, query);
      t.match(await bad.json(), { errors: [{ pointer }] });
    }

    const first = await s.request('/inventory/stock-moves?limit=1&order=asc');
    const { page } = await first.json();
    const reused = await s.request(
      `/inventory/stock-moves?limit=1&order=desc&cursor=${encodeURIComponent(page.next_cursor)}`,
    );
    t.equal(reused.status, 422, 'a cursor is bound to order');
    t.equal((await reused.json()).type, 'https://problems.inventory-api.dev/invalid-cursor');
  });
  t.test('a reversal is traced as the move it is', async (t) => {
    const reversal = ok(
      await api.POST('/inventory/stock-moves/{id}/reverse', {
        params: { path: { id: issue.id }, header: { 'Idempotency-Key': crypto.randomUUID() } },
      }),
    );
    const { entries, onHand } = await traceAll(t, s, { item_id: 'drill', serial: 'D1' });
    t.strictSame(entries.map(brief).slice(-1), ['IN WH-B 1']);
    t.equal(entries[entries.length - 1].move_id, reversal.id);
    t.strictSame(onHand, [{ warehouse_id: 'WH-B', qty: 1 }]);
  });
});
