// Closing a purchase order and cancelling a line's remainder: what each records (qty_cancelled,
// closed_reason, receipt_progress), the checks they make, and how they interleave with receipts.
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { migrate, MIGRATIONS_DIR } from '../db/migrate.ts';
import { freshDatabase } from './helpers/db.ts';
import { startServer, type TestServer } from './helpers/server.ts';
import { createPo, ik, ok, receive, seedCatalogue, sentPo } from './helpers/procurement.ts';
import type { components } from '../generated/client.ts';

type PurchaseOrder = components['schemas']['PurchaseOrder'];

const THREE_LINES = {
  lines: [
    { item_id: 'bolt', qty: 10, unit_price: '0.50' },
    { item_id: 'bolt', qty: 6, unit_price: '0.60' },
    { item_id: 'bolt', qty: 4, unit_price: '0.70' },
  ],
};

function close(s: TestServer, id: string, etag?: string, key = ik()) {
  return s.client().POST('/procurement/purchase-orders/{id}/close', {
    params: { path: { id }, header: { ...key, 'If-Match': etag as string } },
  });
}

function cancelRemaining(s: TestServer, id: string, lineId: string, etag?: string, key = ik()) {
  return s.client().POST('/procurement/purchase-orders/{id}/lines/{line_id}/cancel-remaining', {
    params: { path: { id, line_id: lineId }, header: { ...key, 'If-Match': etag as string } },
  });
}

async function getPo(s: TestServer, id: string): Promise<PurchaseOrder> {
  return ok(
    await s.client().GET('/procurement/purchase-orders/{id}', { params: { path: { id } } }),
  );
}

async function eventTypes(s: TestServer, poId: string): Promise<string[]> {
  const rows = await s.sql<{ type: string }[]>`
    SELECT type FROM outbox
    WHERE type LIKE 'procurement.purchase_order.%' AND payload->'data'->>'id' = ${poId}
    ORDER BY seq`;
  return rows.map((r) => r.type);
}

/** The rules the order's status, progress and reason follow, checked against its lines. */
function assertConsistent(t: Test, po: PurchaseOrder) {
  const open = po.lines.some((l) => l.qty_received + l.qty_cancelled < l.qty);
  const received = po.lines.some((l) => l.qty_received > 0);
  for (const l of po.lines) {
    t.ok(l.qty_received + l.qty_cancelled <= l.qty, `line ${l.id} within its quantity`);
    t.equal(l.qty_returned, 0);
  }
  t.equal(po.receipt_progress, !received ? 'NONE' : open ? 'PARTIAL' : 'FULL', 'receipt_progress');
  if (po.status === 'SENT') t.ok(open, 'a SENT order has something open');
  if (po.status === 'RECEIVED') t.ok(!open && received, 'RECEIVED: all done, something received');
  if (po.status === 'CLOSED') {
    t.notOk(open, 'a CLOSED order has nothing open');
    if (!received) t.equal(po.closed_reason, 'CANCELLED');
    else t.ok(po.closed_reason === 'SHORT_CLOSED' || po.closed_reason === 'COMPLETED');
  } else t.equal(po.closed_reason, undefined, 'closed_reason only when CLOSED');
}

t.test('new fields: revision 1, receipt_progress NONE, lines with nothing cancelled', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  await seedCatalogue(api);
  const po = await createPo(api);
  t.match(po, { revision: 1, receipt_progress: 'NONE', created_by: String });
  t.notOk('closed_reason' in po);
  t.match(po.lines[0], { qty_cancelled: 0, qty_returned: 0 });
});

t.test('close from SENT after a partial receipt: SHORT_CLOSED, the rest cancelled', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  await seedCatalogue(api);
  const po = await sentPo(api, THREE_LINES);
  await receive(api, po, [{ po_line_id: po.lines[0].id, qty_received: 4 }]);
  const partial = await getPo(s, po.id);
  t.equal(partial.receipt_progress, 'PARTIAL');
  const closed = await close(s, po.id, partial.etag);
  t.equal(closed.response.status, 200);
  t.match(closed.data, {
    status: 'CLOSED',
    closed_reason: 'SHORT_CLOSED',
    receipt_progress: 'FULL',
  });
  t.same(
    closed.data!.lines.map((l) => [l.qty_received, l.qty_cancelled]),
    [
      [4, 6],
      [0, 6],
      [0, 4],
    ],
  );
  assertConsistent(t, closed.data!);
  t.same(closed.data, await getPo(s, po.id));
  const events = await eventTypes(s, po.id);
  t.equal(events.at(-1), 'procurement.purchase_order.closed');
  const [event] = await s.sql`
    SELECT payload->'data' AS data FROM outbox
    WHERE type = 'procurement.purchase_order.closed' AND payload->'data'->>'id' = ${po.id}`;
  t.match(event.data, { closed_reason: 'SHORT_CLOSED', receipt_progress: 'FULL' });
  // Nothing is open: a receipt is refused for the state.
  const late = await api.POST('/procurement/receipts', {
    params: { header: ik() },
    body: {
      po_id: po.id,
      warehouse_id: 'WH-A',
      lines: [{ po_line_id: po.lines[1].id, qty_received: 1 }],
    },
  });
  t.equal(late.response.status, 409);
});

t.test('close: DRAFT and untouched SENT are CANCELLED, RECEIVED is COMPLETED', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  await seedCatalogue(api);
  const draft = await createPo(api);
  t.match((await close(s, draft.id, draft.etag)).data, {
    status: 'CLOSED',
    closed_reason: 'CANCELLED',
    receipt_progress: 'NONE',
    lines: [{ qty_received: 0, qty_cancelled: 10 }],
  });
  const sent = await sentPo(api);
  t.match((await close(s, sent.id, sent.etag)).data, {
    closed_reason: 'CANCELLED',
    lines: [{ qty_cancelled: 10 }],
  });
  const full = await sentPo(api);
  await receive(api, full, [{ po_line_id: full.lines[0].id, qty_received: 10 }]);
  const received = await getPo(s, full.id);
  t.match(received, { status: 'RECEIVED', receipt_progress: 'FULL' });
  const completed = await close(s, full.id, received.etag);
  t.match(completed.data, {
    status: 'CLOSED',
    closed_reason: 'COMPLETED',
    lines: [{ qty_received: 10, qty_cancelled: 0 }],
  });
  const again = await close(s, full.id, completed.data!.etag);
  t.equal(again.response.status, 409);
  t.match(again.error, { type: 'https://problems.inventory-api.dev/invalid-state' });
});

t.test(
  'cancel-remaining: the line completes; the order follows when nothing is open',
  async (t) => {
    const s = await startServer(t);
    const api = s.client();
    await seedCatalogue(api);
    const po = await sentPo(api, THREE_LINES);
    const [a, b, c] = po.lines.map((l) => l.id);
    await receive(api, po, [{ po_line_id: a, qty_received: 3 }]);
    let current = await getPo(s, po.id);

    const first = await cancelRemaining(s, po.id, a, current.etag);
    t.equal(first.response.status, 200);
    t.not(first.data!.etag, current.etag);
    t.equal(first.response.headers.get('etag'), first.data!.etag);
    t.match(first.data, {
      status: 'SENT',
      receipt_progress: 'PARTIAL',
      lines: [{ qty_received: 3, qty_cancelled: 7 }, { qty_cancelled: 0 }, { qty_cancelled: 0 }],
    });
    current = first.data!;

    // A receipt beyond what is open on the line is over-receipt, cancelled quantity included.
    const over = await api.POST('/procurement/receipts', {
      params: { header: ik() },
      body: { po_id: po.id, warehouse_id: 'WH-A', lines: [{ po_line_id: a, qty_received: 1 }] },
    });
    t.equal(over.response.status, 409);
    t.match(over.error, {
      type: 'https://problems.inventory-api.dev/over-receipt',
      po_line_id: a,
      ordered: 10,
      received: 3,
      requested: 1,
      detail: /cancelled 7/,
    });

    const nothingOpen = await cancelRemaining(s, po.id, a, current.etag);
    t.equal(nothingOpen.response.status, 409, 'nothing open on the line');
    t.match(nothingOpen.error, {
      type: 'https://problems.inventory-api.dev/invalid-state',
      current_status: 'SENT',
      detail: /nothing open/,
    });
    t.notOk(nothingOpen.error && 'allowed_statuses' in nothingOpen.error);

    current = ok(await cancelRemaining(s, po.id, b, current.etag));
    t.equal(current.status, 'SENT');
    await receive(api, po, [{ po_line_id: c, qty_received: 4 }]);
    current = await getPo(s, po.id);
    t.match(
      current,
      { status: 'RECEIVED', receipt_progress: 'FULL' },
      'received once nothing is open',
    );
    assertConsistent(t, current);
    const types = await eventTypes(s, po.id);
    t.same(types.slice(-3), [
      'procurement.purchase_order.updated',
      'procurement.purchase_order.updated',
      'procurement.purchase_order.received',
    ]);
    const [audit] = await s.sql`
    SELECT action FROM audit_log WHERE entity_id = ${po.id} AND action = 'purchase_order.line_cancelled' LIMIT 1`;
    t.ok(audit, 'audited');
  },
);

t.test(
  'cancel-remaining of the last open line: RECEIVED with receipts, CLOSED/CANCELLED without',
  async (t) => {
    const s = await startServer(t);
    const api = s.client();
    await seedCatalogue(api);
    const partly = await sentPo(api, THREE_LINES);
    await receive(api, partly, [
      { po_line_id: partly.lines[0].id, qty_received: 10 },
      { po_line_id: partly.lines[1].id, qty_received: 6 },
      { po_line_id: partly.lines[2].id, qty_received: 1 },
    ]);
    const received = ok(
      await cancelRemaining(s, partly.id, partly.lines[2].id, (await getPo(s, partly.id)).etag),
    );
    t.match(received, { status: 'RECEIVED', receipt_progress: 'FULL' });
    t.notOk('closed_reason' in received);
    t.equal((await eventTypes(s, partly.id)).at(-1), 'procurement.purchase_order.received');

    const none = await sentPo(api, { lines: [{ item_id: 'bolt', qty: 2, unit_price: '1.00' }] });
    const cancelled = ok(await cancelRemaining(s, none.id, none.lines[0].id, none.etag));
    t.match(cancelled, {
      status: 'CLOSED',
      closed_reason: 'CANCELLED',
      receipt_progress: 'NONE',
      lines: [{ qty_cancelled: 2 }],
    });
    t.equal((await eventTypes(s, none.id)).at(-1), 'procurement.purchase_order.closed');
  },
);

t.test(
  'cancel-remaining failures: 404, 428, 412, 409 for DRAFT; replay answers the same',
  async (t) => {
    const s = await startServer(t);
    const api = s.client();
    await seedCatalogue(api);
    const draft = await createPo(api);
    const inDraft = await cancelRemaining(s, draft.id, draft.lines[0].id, draft.etag);
    t.equal(inDraft.response.status, 409);
    t.match(inDraft.error, { current_status: 'DRAFT', allowed_statuses: ['SENT'] });

    const po = await sentPo(api, THREE_LINES);
    const other = await sentPo(api);
    t.equal((await cancelRemaining(s, po.id, 'pol_nope', po.etag)).response.status, 404);
    t.equal(
      (await cancelRemaining(s, po.id, other.lines[0].id, po.etag)).response.status,
      404,
      "another order's line",
    );
    t.equal((await cancelRemaining(s, 'po_nope', po.lines[0].id, po.etag)).response.status, 404);
    t.equal((await cancelRemaining(s, po.id, po.lines[0].id, '"v1"')).response.status, 412);
    const noMatch = await s.request(
      `/procurement/purchase-orders/${po.id}/lines/${po.lines[0].id}/cancel-remaining`,
      { method: 'POST', headers: ik() },
    );
    t.equal(noMatch.status, 428);
    const noKey = await s.request(
      `/procurement/purchase-orders/${po.id}/lines/${po.lines[0].id}/cancel-remaining`,
      { method: 'POST', headers: { 'If-Match': po.etag } },
    );
    t.equal(noKey.status, 400);

    const key = ik();
    const first = await cancelRemaining(s, po.id, po.lines[0].id, po.etag, key);
    t.equal(first.response.status, 200);
    const replay = await cancelRemaining(s, po.id, po.lines[0].id, po.etag, key);
    t.equal(replay.response.status, 200);
    t.same(replay.data, first.data, 'the same answer');
    t.same(await getPo(s, po.id), first.data, 'changed once');
    t.equal(
      (await eventTypes(s, po.id)).filter((x) => x === 'procurement.purchase_order.updated').length,
      1,
      'one event',
    );

    const closeKey = ik();
    const closed = await close(s, po.id, first.data!.etag, closeKey);
    const closedAgain = await close(s, po.id, first.data!.etag, closeKey);
    t.same(closedAgain.data, closed.data);
    t.equal(
      (await eventTypes(s, po.id)).filter((x) => x === 'procurement.purchase_order.closed').length,
      1,
    );
  },
);

t.test(
  'concurrency: receipts, cancel-remaining and close racing on one SENT order keep every line consistent',
  async (t) => {
    const s = await startServer(t);
    const api = s.client();
    await seedCatalogue(api);
    const po = await sentPo(api, THREE_LINES);
    const lineIds = po.lines.map((l) => l.id);
    // Actions that need the ETag read it just before and, as a client would, read it again after a
    // 412 (a few times): so that some of them win against the receipts.
    const statuses: number[] = [];
    const withEtag = async (call: (etag: string) => Promise<{ response: Response }>) => {
      for (let attempt = 0; attempt < 4; attempt++) {
        const res = await call((await getPo(s, po.id)).etag);
        statuses.push(res.response.status);
        if (res.response.status !== 412) return;
      }
    };
    const requests: (() => Promise<unknown>)[] = [];
    for (let i = 0; i < 15; i++)
      requests.push(async () => {
        const res = await api.POST('/procurement/receipts', {
          params: { header: ik() },
          body: {
            po_id: po.id,
            warehouse_id: 'WH-A',
            lines: [{ po_line_id: lineIds[i % 3], qty_received: 1 + (i % 2) }],
          },
        });
        statuses.push(res.response.status);
      });
    for (let i = 0; i < 6; i++)
      requests.push(() => withEtag((etag) => cancelRemaining(s, po.id, lineIds[i % 3], etag)));
    for (let i = 0; i < 3; i++) requests.push(() => withEtag((etag) => close(s, po.id, etag)));
    // Interleaved, so that every kind is in flight from the start.
    const order = requests.map((_, i) => i).sort((x, y) => ((x * 7) % 24) - ((y * 7) % 24));
    await Promise.all(order.map((i) => requests[i]()));
    t.ok(
      statuses.every((x) => (x >= 200 && x < 300) || x === 409 || x === 412 || x === 422),
      `statuses: ${statuses.join(' ')}`,
    );
    t.ok(statuses.includes(200), 'a cancel-remaining or close succeeded');

    const after = await getPo(s, po.id);
    assertConsistent(t, after);
    const sums = await s.sql<{ po_line_id: string; n: number }[]>`
      SELECT rl.po_line_id, sum(rl.qty_received)::float8 AS n
      FROM receipt_lines rl JOIN receipts r ON r.id = rl.receipt_id
      WHERE r.po_id = ${po.id} AND r.status = 'POSTED' GROUP BY rl.po_line_id`;
    const posted = new Map(sums.map((r) => [r.po_line_id, r.n]));
    for (const l of after.lines)
      t.equal(l.qty_received, posted.get(l.id) ?? 0, `line ${l.id}: received = posted receipts`);
    // The database holds the same invariants, whatever the API shows.
    const [{ bad }] = await s.sql`
      SELECT count(*)::int AS bad FROM purchase_order_lines
      WHERE po_id = ${po.id} AND (qty_received + qty_cancelled > qty OR qty_returned > qty_received)`;
    t.equal(bad, 0);
    const types = await eventTypes(s, po.id);
    t.ok(types.filter((x) => x === 'procurement.purchase_order.closed').length <= 1);
    if (after.status === 'CLOSED') t.equal(types.at(-1), 'procurement.purchase_order.closed');
  },
);

t.test(
  'the migration records what orders closed earlier dropped, and why they closed',
  async (t) => {
    const { sql } = await freshDatabase(t, { empty: true });
    const before = await mkdtemp(path.join(tmpdir(), 'migrations-'));
    t.teardown(() => rm(before, { recursive: true, force: true }));
    for (const name of await readdir(MIGRATIONS_DIR))
      if (name < '0016') await cp(path.join(MIGRATIONS_DIR, name), path.join(before, name));
    await migrate(sql, before);
    await sql`INSERT INTO vendors (id, name, currency) VALUES ('ven', 'V', 'EUR')`;
    await sql`INSERT INTO items (id, sku, name, uom, track_by) VALUES ('bolt', 'B', 'Bolt', 'EA', 'NONE')`;
    const orders = [
      ['po_none', 'CLOSED', [0, 0]],
      ['po_short', 'CLOSED', [4, 0]],
      ['po_full', 'CLOSED', [10, 5]],
      ['po_open', 'SENT', [2, 0]],
    ] as const;
    for (const [id, status, received] of orders) {
      await sql`INSERT INTO purchase_orders (id, number, vendor_id, currency, status, created_by)
              VALUES (${id}, ${id}, 'ven', 'EUR', ${status}, 'alice')`;
      for (const [i, r] of received.entries())
        await sql`INSERT INTO purchase_order_lines (id, po_id, line_no, item_id, qty, unit_price, qty_received)
                VALUES (${`${id}_${i}`}, ${id}, ${i}, 'bolt', ${i === 0 ? 10 : 5}, 1, ${r})`;
    }
    await migrate(sql);
    const rows = await sql<{ id: string; closed_reason: string | null; version: number }[]>`
    SELECT id, closed_reason, version, revision FROM purchase_orders ORDER BY id`;
    t.same(
      rows.map((r) => [r.id, r.closed_reason, r.version]),
      [
        ['po_full', 'COMPLETED', 2],
        ['po_none', 'CANCELLED', 2],
        ['po_open', null, 1],
        ['po_short', 'SHORT_CLOSED', 2],
      ],
    );
    const lines = await sql<{ id: string; c: number }[]>`
    SELECT id, qty_cancelled::float8 AS c FROM purchase_order_lines ORDER BY id`;
    t.same(
      lines.map((l) => [l.id, l.c]),
      [
        ['po_full_0', 0],
        ['po_full_1', 0],
        ['po_none_0', 10],
        ['po_none_1', 5],
        ['po_open_0', 0],
        ['po_open_1', 0],
        ['po_short_0', 6],
        ['po_short_1', 5],
      ],
    );
    await t.rejects(
      sql`UPDATE purchase_order_lines SET qty_cancelled = 9 WHERE id = 'po_open_0'`,
      /check/i,
      'qty_received + qty_cancelled <= qty',
    );
    await t.rejects(
      sql`UPDATE purchase_order_lines SET qty_returned = 3 WHERE id = 'po_open_0'`,
      /check/i,
      'qty_returned <= qty_received',
    );
    await t.rejects(
      sql`UPDATE purchase_orders SET closed_reason = 'COMPLETED' WHERE id = 'po_open'`,
      /check/i,
      'closed_reason only when CLOSED',
    );
  },
);
