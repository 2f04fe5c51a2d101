// Reversing a posted receipt: its stock leaves through the ledger (the reversal of its move), its
// quantities leave the order's lines, the receipt records the reversal; every refusal changes
// nothing; and reversals racing with receipts and issues on one order keep stock and order in step.
import t, { type Test } from 'tap';
import { checkInvariants } from '../scripts/lib/invariants.ts';
import type { components } from '../generated/client.ts';
import { databaseFingerprint } from './helpers/db-fingerprint.ts';
import { ik, ok, receive, seedCatalogue, sentPo } from './helpers/procurement.ts';
import { startServer, type TestServer } from './helpers/server.ts';
import { level, postMove, reserve } from './helpers/stock.ts';
import { eventsDispatched } from './helpers/wait.ts';

type Receipt = components['schemas']['Receipt'];
type PurchaseOrder = components['schemas']['PurchaseOrder'];

function reverseReceipt(
  s: TestServer,
  id: string,
  etag: string | undefined,
  { key = ik(), reason }: { key?: { 'Idempotency-Key': string }; reason?: string } = {},
) {
  return s.client().POST('/procurement/receipts/{id}/reverse', {
    params: { path: { id }, header: { ...key, 'If-Match': etag as string } },
    ...(reason === undefined ? {} : { body: { reason } }),
  });
}

async function getPo(s: TestServer, id: string): Promise<PurchaseOrder> {
  return ok(
    await s.client().GET('/procurement/purchase-orders/{id}', { params: { path: { id } } }),
  );
}

async function getReceipt(s: TestServer, id: string): Promise<Receipt> {
  return ok(await s.client().GET('/procurement/receipts/{id}', { params: { path: { id } } }));
}

async function onHand(s: TestServer, item: string, warehouse = 'WH-A'): Promise<number> {
  return (await level(s.client(), item, warehouse))?.on_hand ?? 0;
}

/**
 * The database as a whole, once the events committed so far have their feed positions; without
 * the stored answers of Idempotency-Keys, which keep a refusal (409, 422) to replay it.
 */
async function fingerprint(s: TestServer) {
  await eventsDispatched(s.sql);
  const { idempotency_keys: _, ...tables } = await databaseFingerprint(s.sql);
  return tables;
}

/** Asserts the request was refused with this status and problem type, and changed nothing. */
async function refusedUnchanged(
  t: Test,
  s: TestServer,
  request: () => Promise<{ response: Response; error?: unknown }>,
  status: number,
  type: string,
  detail?: RegExp,
) {
  const before = await fingerprint(s);
  const res = await request();
  t.equal(res.response.status, status, `${type}: ${status}`);
  t.match(res.error, {
    type: `https://problems.inventory-api.dev/${type}`,
    ...(detail && { detail }),
  });
  t.strictSame(await fingerprint(s), before, `${type}: nothing changed`);
  return res;
}

async function assertInvariants(t: Test, s: TestServer) {
  t.same((await checkInvariants(s.sql)).violations, [], 'the invariants hold');
}

t.test('reversing a receipt: stock out, qty_received down, RECEIVED back to SENT', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  await seedCatalogue(api);
  const po = await sentPo(api, {
    ship_to_warehouse_id: 'WH-A',
    lines: [
      { item_id: 'bolt', qty: 10, unit_price: '0.50' },
      { item_id: 'bolt', qty: 4, unit_price: '0.60' },
    ],
  });
  const [l1, l2] = po.lines.map((l) => l.id);
  const first = await receive(api, po, [{ po_line_id: l1, qty_received: 6 }]);
  const second = await receive(api, po, [
    { po_line_id: l1, qty_received: 4 },
    { po_line_id: l2, qty_received: 4 },
  ]);
  t.equal((await getPo(s, po.id)).status, 'RECEIVED');
  t.equal(await onHand(s, 'bolt'), 14);
  t.notOk('reversed_at' in second || 'reversed_by_move' in second, 'absent until reversed');
  // The match before: received 10 and 4, nothing invoiced.
  ok(
    await api.POST('/procurement/invoices', {
      params: { header: ik() },
      body: {
        po_id: po.id,
        number: 'INV-R1',
        lines: [{ po_line_id: l1, qty: 6, unit_price: '0.50' }],
      },
    }),
  );

  const res = await reverseReceipt(s, second.id, second.etag, { reason: 'Wrong delivery' });
  t.equal(res.response.status, 200);
  const reversed = res.data!;
  t.match(reversed, {
    id: second.id,
    status: 'POSTED',
    stock_move_id: second.stock_move_id,
    reversed_at: String,
    reversed_by_move: String,
  });
  t.not(reversed.etag, second.etag, 'a new version');
  t.equal(res.response.headers.get('etag'), reversed.etag);
  t.same(reversed, await getReceipt(s, second.id), 'as GET shows it');

  const after = await getPo(s, po.id);
  t.match(after, { status: 'SENT', receipt_progress: 'PARTIAL' });
  t.same(
    after.lines.map((l) => l.qty_received),
    [6, 0],
  );
  t.equal(await onHand(s, 'bolt'), 6, 'the stock the receipt brought is gone');

  // The stock move pair, linked.
  const original = ok(
    await api.GET('/inventory/stock-moves/{id}', {
      params: { path: { id: second.stock_move_id! } },
    }),
  );
  const reversal = ok(
    await api.GET('/inventory/stock-moves/{id}', {
      params: { path: { id: reversed.reversed_by_move! } },
    }),
  );
  t.match(original, { status: 'REVERSED', reversed_by: reversal.id, receipt_id: second.id });
  t.match(reversal, {
    type: 'ISSUE',
    from_wh: 'WH-A',
    reverses: original.id,
    reason: 'Wrong delivery',
    reference: po.number,
  });
  t.same(
    reversal.lines.map((l) => [l.item_id, l.qty]),
    original.lines.map((l) => [l.item_id, l.qty]),
    'the same lines',
  );

  // The match reads what stays received: line 1 received 6, invoiced 6.
  const match = ok(
    await api.GET('/procurement/purchase-orders/{id}/match', { params: { path: { id: po.id } } }),
  );
  t.match(
    match.lines.find((l) => l.po_line_id === l1),
    { received: 6, invoiced: 6 },
  );
  t.match(
    match.lines.find((l) => l.po_line_id === l2),
    { received: 0 },
  );
  t.match(reversed.match, { lines: match.lines }, "the receipt's match is the order's now");

  // Events and audit entries, in the transaction.
  const events = await s.sql<{ type: string; data: any }[]>`
    SELECT type, payload->'data' AS data FROM outbox ORDER BY seq DESC LIMIT 6`;
  const types = events.map((e) => e.type).reverse();
  t.same(types.slice(-3), [
    'inventory.stock_level.changed',
    'procurement.receipt.reversed',
    'procurement.purchase_order.updated',
  ]);
  t.ok(
    types.includes('inventory.stock_move.posted') &&
      types.includes('inventory.stock_move.reversed'),
  );
  t.same(events.find((e) => e.type === 'procurement.receipt.reversed')!.data, reversed);
  t.match(events.find((e) => e.type === 'procurement.purchase_order.updated')!.data, {
    status: 'SENT',
    receipt_progress: 'PARTIAL',
  });
  const audits = await s.sql<{ action: string }[]>`
    SELECT action FROM audit_log WHERE entity_id IN (${second.id}, ${po.id}) ORDER BY id DESC LIMIT 2`;
  t.same(audits.map((a) => a.action).sort(), [
    'purchase_order.receipt_reversed',
    'receipt.reversed',
  ]);

  // The `reversed` filter.
  const listed = async (reversed: boolean) =>
    ok(
      await api.GET('/procurement/receipts', { params: { query: { po_id: po.id, reversed } } }),
    ).data.map((r) => r.id);
  t.same(await listed(true), [second.id]);
  t.same(await listed(false), [first.id]);

  // The original receipt reversed too: nothing received, the order is SENT with nothing in.
  ok(await reverseReceipt(s, first.id, first.etag));
  t.match(await getPo(s, po.id), {
    status: 'SENT',
    receipt_progress: 'NONE',
    lines: [{ qty_received: 0 }, { qty_received: 0 }],
  });
  t.equal(await onHand(s, 'bolt'), 0);
  // What was taken back can be received again.
  await receive(api, po, [
    { po_line_id: l1, qty_received: 10 },
    { po_line_id: l2, qty_received: 4 },
  ]);
  t.equal((await getPo(s, po.id)).status, 'RECEIVED');
  await assertInvariants(t, s);
});

t.test('batch- and serial-tracked goods leave with their batches and serials', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  await seedCatalogue(api);
  const po = await sentPo(api, {
    lines: [
      { item_id: 'glue', qty: 10, unit_price: '3.00' },
      { item_id: 'drill', qty: 4, unit_price: '90.00' },
    ],
  });
  const [glue, drill] = po.lines.map((l) => l.id);
  const keep = await receive(api, po, [
    { po_line_id: glue, qty_received: 3, batch: 'L1', expires_at: '2027-06-01T00:00:00Z' },
  ]);
  const receipt = await receive(api, po, [
    { po_line_id: glue, qty_received: 5, batch: 'L2', expires_at: '2027-09-01T00:00:00Z' },
    { po_line_id: drill, qty_received: 2, serials: ['D-1', 'D-2'] },
  ]);
  const res = await reverseReceipt(s, receipt.id, receipt.etag);
  t.equal(res.response.status, 200);
  const reversal = ok(
    await api.GET('/inventory/stock-moves/{id}', {
      params: { path: { id: res.data!.reversed_by_move! } },
    }),
  );
  t.match(reversal.lines, [
    { item_id: 'glue', qty: 5, batch: 'L2' },
    { item_id: 'drill', qty: 2, serials: ['D-1', 'D-2'] },
  ]);
  const glueLevel = await level(api, 'glue', 'WH-A');
  t.same(
    glueLevel?.batches?.map((b) => [b.batch, b.on_hand]),
    [['L1', 3]],
    'batch L2 is empty, L1 (another receipt) untouched',
  );
  t.equal(await onHand(s, 'drill'), 0);
  const serials =
    await s.sql`SELECT serial, status FROM serials WHERE item_id = 'drill' ORDER BY serial`;
  t.same(
    serials.map((r) => [r.serial, r.status]),
    [
      ['D-1', 'ISSUED'],
      ['D-2', 'ISSUED'],
    ],
  );
  t.match(await getPo(s, po.id), { lines: [{ qty_received: 3 }, { qty_received: 0 }] });
  t.ok(keep.id);

  // A serial that left the warehouse since: the ledger's 422, and nothing changes.
  const again = await receive(api, po, [
    { po_line_id: drill, qty_received: 2, serials: ['D-3', 'D-4'] },
  ]);
  ok(
    await postMove(api, {
      type: 'TRANSFER',
      from_wh: 'WH-A',
      to_wh: 'WH-B',
      lines: [{ item_id: 'drill', qty: 1, serials: ['D-4'] }],
    }),
  );
  ok(
    await postMove(api, {
      type: 'RECEIPT',
      to_wh: 'WH-A',
      lines: [{ item_id: 'drill', qty: 1, serials: ['D-9'] }],
    }),
  );
  const refused = await refusedUnchanged(
    t,
    s,
    () => reverseReceipt(s, again.id, again.etag),
    422,
    'validation-error',
  );
  t.comment(JSON.stringify(refused.error));
  await assertInvariants(t, s);
});

t.test('refusals: 404, 428, 412, PENDING, twice, CLOSED order, returned goods', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  await seedCatalogue(api);
  const po = await sentPo(api, { lines: [{ item_id: 'bolt', qty: 10, unit_price: '0.50' }] });
  const lineId = po.lines[0].id;
  const receipt = await receive(api, po, [{ po_line_id: lineId, qty_received: 4 }]);

  await refusedUnchanged(t, s, () => reverseReceipt(s, 'rcpt_missing', '"v1"'), 404, 'not-found');
  await refusedUnchanged(
    t,
    s,
    () => reverseReceipt(s, receipt.id, undefined),
    428,
    'precondition-required',
  );
  const stale = await refusedUnchanged(
    t,
    s,
    () => reverseReceipt(s, receipt.id, '"v99"'),
    412,
    'precondition-failed',
  );
  t.equal(stale.response.headers.get('etag'), receipt.etag);

  // Scope and warehouse: procurement:write, and a token that may see the receipt's warehouse.
  const readOnly = await s
    .client({ scope: 'inventory:read inventory:write' })
    .POST('/procurement/receipts/{id}/reverse', {
      params: { path: { id: receipt.id }, header: { ...ik(), 'If-Match': receipt.etag } },
    });
  t.match([readOnly.response.status, readOnly.error], [403, { type: /insufficient-scope$/ }]);
  const elsewhere = await s
    .client({ warehouses: ['WH-B'] })
    .POST('/procurement/receipts/{id}/reverse', {
      params: { path: { id: receipt.id }, header: { ...ik(), 'If-Match': receipt.etag } },
    });
  t.match([elsewhere.response.status, elsewhere.error], [403, { type: /warehouse-forbidden$/ }]);

  const draft = ok(
    await api.POST('/procurement/receipts', {
      params: { header: ik() },
      body: {
        po_id: po.id,
        warehouse_id: 'WH-A',
        draft: true,
        lines: [{ po_line_id: lineId, qty_received: 1 }],
      },
    }),
  );
  await refusedUnchanged(
    t,
    s,
    () => reverseReceipt(s, draft.id, draft.etag),
    409,
    'invalid-state',
    /PENDING/,
  );

  // Returned to the vendor: what stays received may not drop below it.
  await s.sql`UPDATE purchase_order_lines SET qty_returned = 1 WHERE id = ${lineId}`;
  await refusedUnchanged(
    t,
    s,
    () => reverseReceipt(s, receipt.id, receipt.etag),
    409,
    'invalid-state',
    /returned to the vendor/,
  );
  await s.sql`UPDATE purchase_order_lines SET qty_returned = 0 WHERE id = ${lineId}`;

  // A wrong body is a 422.
  const badBody = await s.client().POST('/procurement/receipts/{id}/reverse', {
    params: { path: { id: receipt.id }, header: { ...ik(), 'If-Match': receipt.etag } },
    body: { reason: '' },
  });
  t.equal(badBody.response.status, 422);
  const noKey = await s.request(`/procurement/receipts/${receipt.id}/reverse`, {
    method: 'POST',
    headers: { 'If-Match': receipt.etag },
  });
  t.match(await noKey.json(), { status: 400, type: /idempotency-key-missing$/ });

  // Retried with its key: one reversal, the same answer.
  const key = ik();
  const once = await reverseReceipt(s, receipt.id, receipt.etag, { key });
  t.equal(once.response.status, 200);
  const replay = await reverseReceipt(s, receipt.id, receipt.etag, { key });
  t.equal(replay.response.status, 200);
  t.same(replay.data, once.data, 'replayed');
  const [{ n }] = await s.sql`SELECT count(*)::int AS n FROM stock_moves WHERE type = 'ISSUE'`;
  t.equal(n, 1, 'one reversing move');

  // Twice: the current ETag, or any.
  const current = await getReceipt(s, receipt.id);
  await refusedUnchanged(
    t,
    s,
    () => reverseReceipt(s, receipt.id, current.etag),
    409,
    'invalid-state',
    /already reversed/,
  );
  await refusedUnchanged(t, s, () => reverseReceipt(s, receipt.id, '*'), 409, 'invalid-state');

  // Its stock move stays out of reach of the ledger's own reversal, which points here.
  const direct = await api.POST('/inventory/stock-moves/{id}/reverse', {
    params: {
      path: {
        id: (await receive(api, po, [{ po_line_id: lineId, qty_received: 2 }])).stock_move_id!,
      },
      header: ik(),
    },
  });
  t.equal(direct.response.status, 409);
  t.match(direct.error, { detail: /POST \/procurement\/receipts\/rcpt_\w+\/reverse/ });

  // A CLOSED order: its receipts stay.
  const other = await receive(api, po, [{ po_line_id: lineId, qty_received: 1 }]);
  const open = await getPo(s, po.id);
  ok(
    await api.POST('/procurement/purchase-orders/{id}/close', {
      params: { path: { id: po.id }, header: { ...ik(), 'If-Match': open.etag } },
    }),
  );
  await refusedUnchanged(
    t,
    s,
    () => reverseReceipt(s, other.id, other.etag),
    409,
    'invalid-state',
    /CLOSED/,
  );
  await assertInvariants(t, s);
});

t.test('stock issued or reserved since: 409 over-issuance, nothing changes', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  await seedCatalogue(api);
  const po = await sentPo(api, { lines: [{ item_id: 'bolt', qty: 10, unit_price: '0.50' }] });
  const receipt = await receive(api, po, [{ po_line_id: po.lines[0].id, qty_received: 5 }]);
  ok(
    await postMove(api, {
      type: 'ISSUE',
      from_wh: 'WH-A',
      lines: [{ item_id: 'bolt', qty: 2 }],
    }),
  );
  const issued = await refusedUnchanged(
    t,
    s,
    () => reverseReceipt(s, receipt.id, receipt.etag),
    409,
    'over-issuance',
  );
  t.match(issued.error, { item_id: 'bolt', warehouse_id: 'WH-A', requested: 5, available: 3 });
  // Back in, then reserved: available is short again.
  ok(
    await postMove(api, {
      type: 'RECEIPT',
      to_wh: 'WH-A',
      lines: [{ item_id: 'bolt', qty: 2 }],
    }),
  );
  ok(await reserve(api, { item_id: 'bolt', warehouse_id: 'WH-A', qty: 1 }));
  await refusedUnchanged(
    t,
    s,
    () => reverseReceipt(s, receipt.id, receipt.etag),
    409,
    'over-issuance',
  );
  t.match(await getPo(s, po.id), { lines: [{ qty_received: 5 }] });
  t.notOk('reversed_at' in (await getReceipt(s, receipt.id)));
  await assertInvariants(t, s);
});

t.test('two concurrent reversals of one receipt: one reverses, the other is refused', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  await seedCatalogue(api);
  const po = await sentPo(api, { lines: [{ item_id: 'bolt', qty: 10, unit_price: '0.50' }] });
  const a = await receive(api, po, [{ po_line_id: po.lines[0].id, qty_received: 3 }]);
  const b = await receive(api, po, [{ po_line_id: po.lines[0].id, qty_received: 3 }]);
  // With `*` the second sees the first's reversal (409); with the same ETag, its stale tag (412).
  const any = await Promise.all([reverseReceipt(s, a.id, '*'), reverseReceipt(s, a.id, '*')]);
  t.same(any.map((r) => r.response.status).sort(), [200, 409]);
  t.match(any.find((r) => r.response.status === 409)!.error, { detail: /already reversed/ });
  const same = await Promise.all([
    reverseReceipt(s, b.id, b.etag),
    reverseReceipt(s, b.id, b.etag),
  ]);
  t.same(same.map((r) => r.response.status).sort(), [200, 412]);
  t.match(await getPo(s, po.id), { lines: [{ qty_received: 0 }] });
  t.equal(await onHand(s, 'bolt'), 0);
  await assertInvariants(t, s);
});

t.test(
  'reversals (each twice), receipts and issues racing on one order: stock and order stay in step',
  async (t) => {
    const s = await startServer(t);
    const api = s.client();
    await seedCatalogue(api);
    const po = await sentPo(api, {
      lines: [
        { item_id: 'bolt', qty: 20, unit_price: '0.50' },
        { item_id: 'glue', qty: 20, unit_price: '3.00' },
      ],
    });
    const [bolt, glue] = po.lines.map((l) => l.id);
    const receipts: Receipt[] = [];
    for (let i = 0; i < 6; i++)
      receipts.push(
        await receive(api, po, [
          { po_line_id: bolt, qty_received: 2 },
          { po_line_id: glue, qty_received: 1, batch: `B${i}` },
        ]),
      );
    // 12 bolts and 6 glue in; some of them are issued while the receipts are reversed.
    const requests: {
      kind: string;
      run: () => Promise<{ response: Response; error?: unknown }>;
    }[] = [];
    for (const r of receipts) {
      requests.push({ kind: 'reverse', run: () => reverseReceipt(s, r.id, '*') });
      requests.push({ kind: 'reverse', run: () => reverseReceipt(s, r.id, '*') });
    }
    for (let i = 0; i < 4; i++)
      requests.push({
        kind: 'receive',
        run: () =>
          api.POST('/procurement/receipts', {
            params: { header: ik() },
            body: {
              po_id: po.id,
              warehouse_id: 'WH-A',
              lines: [{ po_line_id: bolt, qty_received: 3 }],
            },
          }),
      });
    for (let i = 0; i < 6; i++)
      requests.push({
        kind: 'issue',
        run: () =>
          postMove(api, { type: 'ISSUE', from_wh: 'WH-A', lines: [{ item_id: 'bolt', qty: 2 }] }),
      });
    t.ok(requests.length >= 20);
    const results = await Promise.all(requests.map((r) => r.run()));
    const statuses = results.map((r, i) => `${requests[i].kind} ${r.response.status}`);
    t.notOk(
      results.some((r) => r.response.status >= 500),
      `no 5xx: ${statuses.join(', ')}`,
    );
    // Each receipt: reversed once at most; the other attempt is refused for the state or the stock.
    for (const [i, r] of receipts.entries()) {
      const pair = [results[2 * i], results[2 * i + 1]].map((x) => x.response.status);
      t.ok(pair.filter((x) => x === 200).length <= 1, `receipt ${r.id}: reversed at most once`);
      t.ok(
        pair.every((x) => x === 200 || x === 409),
        `receipt ${r.id}: ${pair}`,
      );
      // Refused both times only when its stock was gone.
      if (!pair.includes(200))
        for (const x of [results[2 * i], results[2 * i + 1]])
          t.match(x.error, { type: /\/over-issuance$/ }, `receipt ${r.id}: its stock was issued`);
    }
    for (const r of results)
      if (r.response.status === 409)
        t.match(r.error, {
          type: /\/(invalid-state|over-issuance|over-receipt|insufficient-available)$/,
        });
    t.ok(
      results.every((r) => [200, 201, 409].includes(r.response.status)),
      statuses.join(', '),
    );

    // The DB figures equal the sum of the documents.
    const reversedCount = (
      await s.sql`SELECT count(*)::int AS n FROM receipts WHERE reversed_at IS NOT NULL`
    )[0].n;
    t.equal(
      reversedCount,
      results.filter((r, i) => requests[i].kind === 'reverse' && r.response.status === 200).length,
      'one reversed receipt per successful reversal',
    );
    const drift = await s.sql`
      SELECT pl.id, pl.qty_received, coalesce(sum(rl.qty_received) FILTER (
        WHERE rc.status = 'POSTED' AND rc.reversed_at IS NULL), 0) AS posted
      FROM purchase_order_lines pl
      LEFT JOIN receipt_lines rl ON rl.po_line_id = pl.id
      LEFT JOIN receipts rc ON rc.id = rl.receipt_id
      WHERE pl.po_id = ${po.id}
      GROUP BY pl.id, pl.qty_received
      HAVING pl.qty_received <> coalesce(sum(rl.qty_received) FILTER (
        WHERE rc.status = 'POSTED' AND rc.reversed_at IS NULL), 0)`;
    t.same(drift, [], "each line's qty_received is the sum of its standing receipts");
    const ledger = await s.sql`
      SELECT sl.item_id, sl.on_hand, coalesce((
        SELECT sum(CASE WHEN m.to_wh = 'WH-A' THEN l.qty ELSE -l.qty END)
        FROM stock_move_lines l JOIN stock_moves m ON m.id = l.move_id
        WHERE l.item_id = sl.item_id AND 'WH-A' IN (m.to_wh, m.from_wh)), 0) AS ledger
      FROM stock_levels sl WHERE sl.warehouse_id = 'WH-A'`;
    for (const row of ledger)
      t.equal(
        Number(row.on_hand),
        Number(row.ledger),
        `${row.item_id}: on hand is the ledger's sum`,
      );
    // And the figures are what the successful requests add up to.
    const succeeded = (kind: string) =>
      results.filter((r, i) => requests[i].kind === kind && r.response.status < 300).length;
    const [reversals, received, issued] = ['reverse', 'receive', 'issue'].map(succeeded);
    t.comment(`${reversals} reversed, ${received} received, ${issued} issued`);
    t.equal(await onHand(s, 'bolt'), 12 - 2 * reversals + 3 * received - 2 * issued, 'bolts');
    t.equal(await onHand(s, 'glue'), 6 - reversals, 'glue');
    const order = await getPo(s, po.id);
    t.same(
      order.lines.map((l) => l.qty_received),
      [12 - 2 * reversals + 3 * received, 6 - reversals],
    );
    t.equal(order.status, 'SENT', 'something is open again');
    await assertInvariants(t, s);
  },
);
