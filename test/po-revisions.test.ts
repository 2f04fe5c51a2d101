// Change orders: revising a SENT order's lines (update, add, remove), the rules that keep what was
// received and cancelled, the history, the event, and revisions racing receipts and cancellations.
import t from 'tap';
import { checkInvariants } from '../scripts/lib/invariants.ts';
import { createPo, ik, ok, receive, seedCatalogue, sentPo } from './helpers/procurement.ts';
import { startServer, type TestServer } from './helpers/server.ts';
import { schemaValidator } from './helpers/webhooks.ts';
import type { components } from '../generated/client.ts';

type PurchaseOrder = components['schemas']['PurchaseOrder'];
type RevisionBody = components['schemas']['PurchaseOrderRevisionCreate'];

const THREE_LINES = {
  ship_to_warehouse_id: 'WH-A',
  lines: [
    { item_id: 'bolt', qty: 10, unit_price: '0.50' },
    { item_id: 'bolt', qty: 6, unit_price: '0.60' },
    { item_id: 'glue', qty: 4, unit_price: '0.70' },
  ],
};

function revise(
  s: TestServer,
  id: string,
  etag: string | undefined,
  body: RevisionBody,
  key = ik(),
) {
  return s.client().POST('/procurement/purchase-orders/{id}/revisions', {
    params: { path: { id }, header: { ...key, 'If-Match': etag as string } },
    body,
  });
}

function cancelRemaining(s: TestServer, id: string, lineId: string, etag: string) {
  return s.client().POST('/procurement/purchase-orders/{id}/lines/{line_id}/cancel-remaining', {
    params: { path: { id, line_id: lineId }, header: { ...ik(), 'If-Match': etag } },
  });
}

async function getPo(s: TestServer, id: string): Promise<PurchaseOrder> {
  return ok(
    await s.client().GET('/procurement/purchase-orders/{id}', { params: { path: { id } } }),
  );
}

async function history(s: TestServer, id: string) {
  return ok(
    await s.client().GET('/procurement/purchase-orders/{id}/revisions', {
      params: { path: { id }, query: { limit: 200 } },
    }),
  ).data;
}

async function eventTypes(s: TestServer, poId: string): Promise<string[]> {
  const rows = await s.sql<{ type: string }[]>`
    SELECT type FROM outbox
    WHERE type LIKE 'procurement.purchase_order.%'
      AND coalesce(payload->'data'->'purchase_order'->>'id', payload->'data'->>'id') = ${poId}
    ORDER BY seq`;
  return rows.map((r) => r.type);
}

/** Each line as the body of a revision names it (kept as it is). */
const asInput = (po: PurchaseOrder) =>
  po.lines.map(({ id, item_id, qty, unit_price, expected_at }) => ({
    id,
    item_id,
    qty,
    unit_price,
    ...(expected_at === undefined ? {} : { expected_at }),
  }));

t.test(
  'a revision updates, adds and removes lines; history and event say what changed',
  async (t) => {
    const s = await startServer(t);
    const api = s.client({ sub: 'alice' });
    await seedCatalogue(api);
    const po = await sentPo(api, { ...THREE_LINES, notes: 'first' });
    const [a, b, c] = po.lines.map((l) => l.id);
    await receive(api, po, [{ po_line_id: a, qty_received: 3 }]);
    const current = await getPo(s, po.id);

    const res = await s
      .client({ sub: 'carol' })
      .POST('/procurement/purchase-orders/{id}/revisions', {
        params: { path: { id: po.id }, header: { ...ik(), 'If-Match': current.etag } },
        body: {
          reason:
            'Vendor call: fewer bolts, cheaper, due mid-January; drills added; no second bolt line.',
          notes: 'second',
          lines: [
            { id: c, item_id: 'glue', qty: 4, unit_price: '0.700' },
            { id: a, item_id: 'bolt', qty: 8, unit_price: '0.45', expected_at: '2027-01-15' },
            { item_id: 'drill', qty: 2, unit_price: '099.00', expected_at: '2027-02-01' },
          ],
        },
      });
    t.equal(res.response.status, 200);
    const revised = res.data!;
    t.equal(res.response.headers.get('etag'), revised.etag);
    t.not(revised.etag, current.etag, 'a new ETag');
    t.match(revised, {
      status: 'SENT',
      revision: 2,
      notes: 'second',
      updated_by: 'carol',
      receipt_progress: 'PARTIAL',
    });
    t.same(
      revised.lines.map((l) => [l.item_id, l.qty, l.unit_price, l.expected_at, l.qty_received]),
      [
        ['glue', 4, '0.70', undefined, 0],
        ['bolt', 8, '0.45', '2027-01-15', 3],
        ['drill', 2, '99.00', '2027-02-01', 0],
      ],
      'the new set of lines, in its order',
    );
    t.same(
      revised.lines.slice(0, 2).map((l) => l.id),
      [c, a],
      'kept lines keep their ids',
    );
    const added = revised.lines[2].id;
    t.match(added, /^pol_/);
    t.notOk(
      revised.lines.some((l) => l.id === b),
      'the unlisted line is gone',
    );
    t.same(await getPo(s, po.id), revised);

    const entries = await history(s, po.id);
    t.equal(entries.length, 1);
    t.match(entries[0], { revision: 2, actor: 'carol', reason: /^Vendor call/, at: String });
    t.same(entries[0].changes, {
      lines: [
        {
          change: 'changed',
          line_id: a,
          item_id: 'bolt',
          qty: { before: 10, after: 8 },
          unit_price: { before: '0.50', after: '0.45' },
          expected_at: { before: null, after: '2027-01-15' },
        },
        {
          change: 'added',
          line_id: added,
          item_id: 'drill',
          qty: { before: null, after: 2 },
          unit_price: { before: null, after: '99.00' },
          expected_at: { before: null, after: '2027-02-01' },
        },
        {
          change: 'removed',
          line_id: b,
          item_id: 'bolt',
          qty: { before: 6, after: null },
          unit_price: { before: '0.60', after: null },
        },
      ],
      notes: { before: 'first', after: 'second' },
    });

    t.same((await eventTypes(s, po.id)).slice(-1), ['procurement.purchase_order.revised']);
    const [event] = await s.sql`
    SELECT payload FROM outbox WHERE type = 'procurement.purchase_order.revised'
      AND payload->'data'->'purchase_order'->>'id' = ${po.id}`;
    t.equal(schemaValidator('PurchaseOrderRevisedEvent')(event.payload), null, 'a valid event');
    t.same(event.payload.warehouse_ids, ['WH-A']);
    t.same(event.payload.data, { purchase_order: revised, revision: entries[0] });
    const [audit] = await s.sql`
    SELECT actor, before->>'revision' AS before, after->>'revision' AS after FROM audit_log
    WHERE entity_id = ${po.id} AND action = 'purchase_order.revised'`;
    t.match(audit, { actor: 'carol', before: '1', after: '2' }, 'audited');

    // Receipts now go against the new lines, within their new quantities.
    await receive(api, revised, [
      { po_line_id: added, qty_received: 2, serials: ['SN-1', 'SN-2'] },
    ]);
    const over = await api.POST('/procurement/receipts', {
      params: { header: ik() },
      body: { po_id: po.id, warehouse_id: 'WH-A', lines: [{ po_line_id: a, qty_received: 6 }] },
    });
    t.equal(over.response.status, 409, 'over-receipt against the lowered quantity');
    const gone = await api.POST('/procurement/receipts', {
      params: { header: ik() },
      body: { po_id: po.id, warehouse_id: 'WH-A', lines: [{ po_line_id: b, qty_received: 1 }] },
    });
    t.equal(gone.response.status, 422, 'the removed line takes no receipt');
  },
);

t.test('expected_at on create and PUT; notes kept when omitted, removed by ""', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  await seedCatalogue(api);
  const draft = await createPo(api, {
    notes: 'keep me',
    lines: [{ item_id: 'bolt', qty: 10, unit_price: '0.50', expected_at: '2027-03-01' }],
  });
  t.equal(draft.lines[0].expected_at, '2027-03-01');
  const put = ok(
    await api.PUT('/procurement/purchase-orders/{id}', {
      params: { path: { id: draft.id }, header: { 'If-Match': draft.etag } },
      body: {
        vendor_id: 'ven_fast',
        currency: 'EUR',
        notes: 'keep me',
        lines: [{ id: draft.lines[0].id, item_id: 'bolt', qty: 10, unit_price: '0.50' }],
      },
    }),
  );
  t.notOk('expected_at' in put.lines[0], 'a PUT line without expected_at has none');
  const year0 = await createPo(api, {
    lines: [{ item_id: 'bolt', qty: 1, unit_price: '1.00', expected_at: '0000-01-01' }],
  }).catch((e) => e as Error);
  t.match(String(year0), /422/, 'year 0000 is refused');

  const po = await sentPo(api, { notes: 'keep me' });
  const kept = ok(
    await revise(s, po.id, po.etag, {
      reason: 'date',
      lines: [{ ...asInput(po)[0], expected_at: '2027-04-01' }],
    }),
  );
  t.equal(kept.notes, 'keep me');
  const cleared = ok(
    await revise(s, po.id, kept.etag, { reason: 'no notes', notes: '', lines: asInput(kept) }),
  );
  t.notOk('notes' in cleared);
  t.equal(cleared.revision, 3);
  const entries = await history(s, po.id);
  t.same(
    entries.map((e) => e.changes),
    [
      {
        lines: [
          {
            change: 'changed',
            line_id: po.lines[0].id,
            item_id: 'bolt',
            expected_at: { before: null, after: '2027-04-01' },
          },
        ],
      },
      { lines: [], notes: { before: 'keep me', after: null } },
    ],
  );
});

t.test('refusals: 409 for the state, 422 for the lines, 412, 428, 400, 404', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  await seedCatalogue(api);
  const po = await sentPo(api, THREE_LINES);
  const [a, b, c] = po.lines.map((l) => l.id);
  await receive(api, po, [{ po_line_id: a, qty_received: 4 }]);
  let current = ok(await cancelRemaining(s, po.id, b, (await getPo(s, po.id)).etag));
  // b: 6 ordered, all cancelled. A draft receipt names c.
  ok(
    await api.POST('/procurement/receipts', {
      params: { header: ik() },
      body: {
        po_id: po.id,
        warehouse_id: 'WH-A',
        draft: true,
        lines: [{ po_line_id: c, qty_received: 1, batch: 'B1' }],
      },
    }),
  );
  current = await getPo(s, po.id);
  const lines = asInput(current);
  const unchanged = await s.sql`SELECT version, revision FROM purchase_orders WHERE id = ${po.id}`;

  const cases: [string, RevisionBody, string, string, RegExp?][] = [
    [
      'qty below received + cancelled',
      { reason: 'r', lines: [{ ...lines[0], qty: 3 }, lines[1], lines[2]] },
      '#/lines/0/qty',
      'below_received_and_cancelled',
      /received 4 \+ cancelled 0 = 4/,
    ],
    [
      'cancelled counts too',
      { reason: 'r', lines: [lines[0], { ...lines[1], qty: 5 }, lines[2]] },
      '#/lines/1/qty',
      'below_received_and_cancelled',
      /received 0 \+ cancelled 6 = 6/,
    ],
    [
      'a line with receipts removed',
      { reason: 'r', lines: [lines[1], lines[2]] },
      '#/lines',
      'line_in_use',
      new RegExp(`${a}.*received 4`),
    ],
    [
      'a line a draft receipt names removed',
      { reason: 'r', lines: [lines[0], lines[1]] },
      '#/lines',
      'line_in_use',
      /a receipt/,
    ],
    [
      'unknown line id',
      { reason: 'r', lines: [...lines, { ...lines[2], id: 'pol_nope' }] },
      '#/lines/3/id',
      'unknown_po_line',
    ],
    [
      'a line twice',
      { reason: 'r', lines: [...lines, lines[2]] },
      '#/lines/3/id',
      'duplicate_line',
    ],
    [
      'item of a line changed',
      { reason: 'r', lines: [lines[0], lines[1], { ...lines[2], item_id: 'bolt' }] },
      '#/lines/2/item_id',
      'item_changed',
    ],
    [
      'unknown item',
      { reason: 'r', lines: [...lines, { item_id: 'nope', qty: 1, unit_price: '1' }] },
      '#/lines/3/item_id',
      'unknown_item',
    ],
    [
      'year 0000',
      {
        reason: 'r',
        lines: [...lines, { item_id: 'bolt', qty: 1, unit_price: '1', expected_at: '0000-02-01' }],
      },
      '#/lines/3/expected_at',
      'out_of_range',
    ],
    [
      'nothing changes',
      { reason: 'r', lines: [lines[0], lines[1], { ...lines[2], unit_price: '0.7000' }] },
      '#/lines',
      'no_change',
    ],
  ];
  for (const [what, body, pointer, code, detail] of cases) {
    // A stale ETag too: validation comes first.
    const res = await revise(s, po.id, '"v1"', body);
    t.equal(res.response.status, 422, what);
    t.match(res.error, { errors: [{ pointer, code, ...(detail ? { detail } : {}) }] }, what);
  }
  // Schema: no reason, a blank one, no lines.
  for (const body of [
    { lines },
    { reason: '', lines },
    { reason: '   ', lines },
    { reason: 'r', lines: [] },
  ])
    t.equal((await revise(s, po.id, current.etag, body as RevisionBody)).response.status, 422);

  ok(
    await api.PUT('/inventory/items/{id}', {
      params: {
        path: { id: 'drill' },
        header: {
          'If-Match': (
            await api.GET('/inventory/items/{id}', { params: { path: { id: 'drill' } } })
          ).data!.etag,
        },
      },
      body: {
        sku: 'DRILL-1',
        name: 'Cordless drill',
        uom: 'EA',
        track_by: 'SERIAL',
        active: false,
      },
    }),
  );
  const inactive = await revise(s, po.id, current.etag, {
    reason: 'r',
    lines: [...lines, { item_id: 'drill', qty: 1, unit_price: '1' }],
  });
  t.match(inactive.error, { errors: [{ pointer: '#/lines/3/item_id', code: 'inactive_item' }] });

  const body = { reason: 'r', lines: [{ ...lines[0], qty: 12 }, lines[1], lines[2]] };
  t.equal((await revise(s, po.id, '"v1"', body)).response.status, 412, 'stale ETag');
  t.equal((await revise(s, 'po_nope', current.etag, body)).response.status, 404);
  const noMatch = await s.request(`/procurement/purchase-orders/${po.id}/revisions`, {
    method: 'POST',
    headers: { ...ik(), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  t.equal(noMatch.status, 428);
  const noKey = await s.request(`/procurement/purchase-orders/${po.id}/revisions`, {
    method: 'POST',
    headers: { 'If-Match': current.etag, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  t.equal(noKey.status, 400);
  const reader = s.client({ scope: 'inventory:read' });
  const scopeless = await reader.POST('/procurement/purchase-orders/{id}/revisions', {
    params: { path: { id: po.id }, header: { ...ik(), 'If-Match': current.etag } },
    body,
  });
  t.equal(scopeless.response.status, 403);
  const elsewhere = await s
    .client({ warehouses: ['WH-B'] })
    .POST('/procurement/purchase-orders/{id}/revisions', {
      params: { path: { id: po.id }, header: { ...ik(), 'If-Match': current.etag } },
      body,
    });
  t.equal(elsewhere.response.status, 403, "another warehouse's order");
  t.same(
    await s.sql`SELECT version, revision FROM purchase_orders WHERE id = ${po.id}`,
    unchanged,
    'nothing changed',
  );

  // The state: DRAFT, RECEIVED, CLOSED.
  const draft = await createPo(api);
  const inDraft = await revise(s, draft.id, draft.etag, {
    reason: 'r',
    lines: [{ ...asInput(draft)[0], qty: 11 }],
  });
  t.equal(inDraft.response.status, 409);
  t.match(inDraft.error, {
    type: /invalid-state$/,
    current_status: 'DRAFT',
    allowed_statuses: ['SENT'],
  });
  const full = await sentPo(api);
  await receive(api, full, [{ po_line_id: full.lines[0].id, qty_received: 10 }]);
  const received = await getPo(s, full.id);
  const onReceived = await revise(s, full.id, received.etag, {
    reason: 'r',
    lines: [{ ...asInput(received)[0], qty: 11 }],
  });
  t.match(onReceived.error, { current_status: 'RECEIVED' });
  const closed = ok(
    await api.POST('/procurement/purchase-orders/{id}/close', {
      params: { path: { id: received.id }, header: { ...ik(), 'If-Match': received.etag } },
    }),
  );
  const onClosed = await revise(s, full.id, closed.etag, {
    reason: 'r',
    lines: [{ ...asInput(closed)[0], qty: 11 }],
  });
  t.match(onClosed.error, { current_status: 'CLOSED' });

  // A replay answers the same, and revises once.
  const key = ik();
  const first = await revise(s, po.id, current.etag, body, key);
  t.equal(first.response.status, 200);
  const replay = await revise(s, po.id, current.etag, body, key);
  t.same(replay.data, first.data);
  t.equal((await getPo(s, po.id)).revision, 2);
  t.equal((await history(s, po.id)).length, 1);
});

t.test('a revision clears the approval', async (t) => {
  const s = await startServer(t, { env: { PO_APPROVAL_THRESHOLDS: 'EUR:1' } });
  const api = s.client({ sub: 'alice' });
  await seedCatalogue(api);
  const draft = await createPo(api);
  const approved = ok(
    await s.client({ sub: 'bob' }).POST('/procurement/purchase-orders/{id}/approve', {
      params: { path: { id: draft.id }, header: { ...ik(), 'If-Match': draft.etag } },
    }),
  );
  const sent = ok(
    await api.POST('/procurement/purchase-orders/{id}/send', {
      params: { path: { id: draft.id }, header: { ...ik(), 'If-Match': approved.etag } },
    }),
  );
  t.match(sent, { approved_by: 'bob', approved_at: String });
  const revised = ok(
    await revise(s, sent.id, sent.etag, {
      reason: 'more',
      lines: [{ ...asInput(sent)[0], qty: 20 }],
    }),
  );
  t.notOk('approved_by' in revised);
  t.notOk('approved_at' in revised);
});

t.test('separation of duties: whoever last changed the order may not approve it', async (t) => {
  const s = await startServer(t, { env: { PO_APPROVAL_THRESHOLDS: 'EUR:1' } });
  const alice = s.client({ sub: 'alice' });
  const bob = s.client({ sub: 'bob' });
  const carol = s.client({ sub: 'carol' });
  await seedCatalogue(alice);
  const approve = (api: typeof alice, po: PurchaseOrder) =>
    api.POST('/procurement/purchase-orders/{id}/approve', {
      params: { path: { id: po.id }, header: { ...ik(), 'If-Match': po.etag } },
    });

  // A PUT in DRAFT.
  const draft = await createPo(alice);
  t.notOk('updated_by' in draft, 'nobody changed it yet');
  const changed = ok(
    await carol.PUT('/procurement/purchase-orders/{id}', {
      params: { path: { id: draft.id }, header: { 'If-Match': draft.etag } },
      body: { vendor_id: 'ven_fast', currency: 'EUR', lines: asInput(draft) },
    }),
  );
  t.equal(changed.updated_by, 'carol');
  const own = await approve(carol, changed);
  t.equal(own.response.status, 403);
  t.match(own.error, { type: /self-approval$/, detail: /carol last changed/ });
  t.equal((await approve(alice, changed)).response.status, 403, 'nor the creator');
  const approved = ok(await approve(bob, changed));
  t.equal(approved.approved_by, 'bob');

  // A revision of the SENT order clears the approval; it may be approved again, not by its reviser.
  const sent = ok(
    await alice.POST('/procurement/purchase-orders/{id}/send', {
      params: { path: { id: draft.id }, header: { ...ik(), 'If-Match': approved.etag } },
    }),
  );
  const revised = ok(
    await carol.POST('/procurement/purchase-orders/{id}/revisions', {
      params: { path: { id: sent.id }, header: { ...ik(), 'If-Match': sent.etag } },
      body: { reason: 'more', lines: [{ ...asInput(sent)[0], qty: 30 }] },
    }),
  );
  t.match(revised, { updated_by: 'carol', status: 'SENT' });
  t.notOk('approved_by' in revised);
  t.equal((await approve(carol, revised)).response.status, 403);
  const again = ok(await approve(bob, revised));
  t.match(again, { status: 'SENT', approved_by: 'bob', approved_at: String });
  const twice = await approve(s.client({ sub: 'dave' }), again);
  t.equal(twice.response.status, 409, 'already approved');
});

t.test('a revision leaving nothing open settles the order as receipts do', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  await seedCatalogue(api);
  const po = await sentPo(api, {
    lines: [
      { item_id: 'bolt', qty: 10, unit_price: '0.50' },
      { item_id: 'bolt', qty: 5, unit_price: '0.50' },
    ],
  });
  await receive(api, po, [
    { po_line_id: po.lines[0].id, qty_received: 4 },
    { po_line_id: po.lines[1].id, qty_received: 5 },
  ]);
  const current = await getPo(s, po.id);
  const received = ok(
    await revise(s, po.id, current.etag, {
      reason: 'The vendor has no more than the 4 delivered.',
      lines: [{ ...asInput(current)[0], qty: 4 }, asInput(current)[1]],
    }),
  );
  t.match(received, { status: 'RECEIVED', receipt_progress: 'FULL', revision: 2 });
  t.notOk('closed_reason' in received);
  t.same((await eventTypes(s, po.id)).slice(-2), [
    'procurement.purchase_order.revised',
    'procurement.purchase_order.received',
  ]);

  // Nothing received, the one line left cancelled in full: CLOSED, CANCELLED.
  const other = await sentPo(api, {
    lines: [
      { item_id: 'bolt', qty: 3, unit_price: '1.00' },
      { item_id: 'glue', qty: 2, unit_price: '1.00' },
    ],
  });
  const cancelled = ok(await cancelRemaining(s, other.id, other.lines[0].id, other.etag));
  const closed = ok(
    await revise(s, other.id, cancelled.etag, {
      reason: 'No glue either.',
      lines: [asInput(cancelled)[0]],
    }),
  );
  t.match(closed, { status: 'CLOSED', closed_reason: 'CANCELLED', receipt_progress: 'NONE' });
  t.same((await eventTypes(s, other.id)).slice(-2), [
    'procurement.purchase_order.revised',
    'procurement.purchase_order.closed',
  ]);
});

t.test('history: paginated, oldest first, visible as the order is', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  await seedCatalogue(api);
  const po = await sentPo(api, { ship_to_warehouse_id: 'WH-A' });
  t.same(await history(s, po.id), [], 'none before the first revision');
  let current = po;
  for (let qty = 11; qty <= 15; qty++)
    current = ok(
      await revise(s, po.id, current.etag, {
        reason: `to ${qty}`,
        lines: [{ ...asInput(current)[0], qty }],
      }),
    );
  t.equal(current.revision, 6);
  const seen: number[] = [];
  let cursor: string | undefined;
  do {
    const page = ok(
      await api.GET('/procurement/purchase-orders/{id}/revisions', {
        params: { path: { id: po.id }, query: { limit: 2, cursor } },
      }),
    );
    t.ok(page.data.length <= 2);
    seen.push(...page.data.map((r) => r.revision));
    cursor = page.page.next_cursor;
  } while (cursor);
  t.same(seen, [2, 3, 4, 5, 6]);
  const first = ok(
    await api.GET('/procurement/purchase-orders/{id}/revisions', {
      params: { path: { id: po.id }, query: { limit: 1 } },
    }),
  );
  t.match(first.data[0], {
    revision: 2,
    reason: 'to 11',
    changes: { lines: [{ qty: { before: 10, after: 11 } }] },
  });
  const other = await sentPo(api, { ship_to_warehouse_id: 'WH-A' });
  const foreign = await api.GET('/procurement/purchase-orders/{id}/revisions', {
    params: { path: { id: other.id }, query: { limit: 1, cursor: first.page.next_cursor } },
  });
  t.equal(foreign.response.status, 422, "another order's cursor");
  t.match(foreign.error, { type: /invalid-cursor$/ });

  const restricted = s.client({ warehouses: ['WH-B'] });
  const forbidden = await restricted.GET('/procurement/purchase-orders/{id}/revisions', {
    params: { path: { id: po.id } },
  });
  t.equal(forbidden.response.status, 403);
  const mine = s.client({ warehouses: ['WH-A'] });
  t.equal(
    (
      await mine.GET('/procurement/purchase-orders/{id}/revisions', {
        params: { path: { id: po.id } },
      })
    ).response.status,
    200,
  );
  const missing = await api.GET('/procurement/purchase-orders/{id}/revisions', {
    params: { path: { id: 'po_nope' } },
  });
  t.equal(missing.response.status, 404);
});

t.test(
  'concurrency: revisions racing receipts and cancel-remaining keep every line consistent',
  async (t) => {
    const s = await startServer(t);
    const api = s.client();
    await seedCatalogue(api);
    const po = await sentPo(api, {
      lines: [
        { item_id: 'bolt', qty: 10, unit_price: '0.50' },
        { item_id: 'bolt', qty: 8, unit_price: '0.60' },
        // Receipts bring at most 6 here and nothing cancels it: the order stays SENT.
        { item_id: 'bolt', qty: 20, unit_price: '0.70' },
      ],
    });
    const lineIds = po.lines.map((l) => l.id);
    const statuses: { kind: string; status: number; why?: string }[] = [];
    // What a refusal was for: its problem type, and for a 422 its first error's code.
    const why = (error: unknown) => {
      const e = error as { type?: string; errors?: { code: string }[] } | undefined;
      return e?.errors?.[0]?.code ?? e?.type?.split('/').pop();
    };
    let revisions = 0;
    const requests: (() => Promise<void>)[] = [];
    // Receipts of 1 or 2 on each line.
    for (let i = 0; i < 12; i++)
      requests.push(async () => {
        const res = await api.POST('/procurement/receipts', {
          params: { header: ik() },
          body: {
            po_id: po.id,
            warehouse_id: 'WH-A',
            lines: [{ po_line_id: lineIds[i % 3], qty_received: 1 + (i % 2) }],
          },
        });
        statuses.push({ kind: 'receipt', status: res.response.status, why: why(res.error) });
      });
    // As a client would, each reads the order again after a 412 (a few times), so that some of
    // them win against the receipts.
    const withEtag = async (
      kind: string,
      call: (seen: PurchaseOrder) => Promise<{ response: Response; error?: unknown }>,
    ) => {
      for (let attempt = 0; attempt < 6; attempt++) {
        const res = await call(await getPo(s, po.id));
        statuses.push({ kind, status: res.response.status, why: why(res.error) });
        if (res.response.status === 200 && kind === 'revision') revisions++;
        if (res.response.status !== 412) return;
      }
    };
    // Revisions, each with the ETag it read: lowering a line to what it has received and
    // cancelled so far (which a receipt may have passed meanwhile), raising one, or removing the
    // last line (refused once it received anything).
    // Revisions, each with the ETag it read: lowering line 0 to what it has received and
    // cancelled so far (which a receipt may pass meanwhile: 422), raising line 1 or line 2, or
    // removing line 2 (refused once it received anything).
    for (let i = 0; i < 8; i++)
      requests.push(() =>
        withEtag('revision', (seen) => {
          const lines = asInput(seen);
          const [l0, l1, l2] = seen.lines;
          // Once a revision removed line 2, what is read again has two lines: raising line 2
          // or removing it is then no change (422 no_change).
          const rest = lines.slice(2);
          const next = [
            [
              { ...lines[0], qty: Math.max(l0.qty_received + l0.qty_cancelled, 1) },
              lines[1],
              ...rest,
            ],
            [lines[0], { ...lines[1], qty: l1.qty + 1 }, ...rest],
            l2
              ? [lines[0], lines[1], { ...lines[2], qty: l2.qty + 1, expected_at: '2027-01-15' }]
              : [lines[0], lines[1]],
            [lines[0], lines[1]],
          ][i % 4];
          return revise(s, po.id, seen.etag, { reason: `race ${i}`, lines: next });
        }),
      );
    // Lines 0 and 1, which no revision removes.
    for (let i = 0; i < 4; i++)
      requests.push(() =>
        withEtag('cancel', (seen) => cancelRemaining(s, po.id, lineIds[i % 2], seen.etag)),
      );
    t.ok(requests.length >= 20);
    const order = requests.map((_, i) => i).sort((x, y) => ((x * 7) % 24) - ((y * 7) % 24));
    await Promise.all(order.map((i) => requests[i]()));

    const bad = statuses.filter(
      ({ status }) => !(status === 200 || status === 201 || [409, 412, 422].includes(status)),
    );
    t.same(bad, [], `statuses: ${statuses.map((x) => `${x.kind}:${x.status}`).join(' ')}`);
    // Each refusal for a reason the rules give, and only those.
    const allowed: Record<string, string[]> = {
      receipt: ['over-receipt', 'invalid-state', 'unknown_po_line'],
      revision: [
        'precondition-failed',
        'invalid-state',
        'below_received_and_cancelled',
        'line_in_use',
        'no_change',
        // Read before another revision removed line 2, and naming it: validation (422) comes
        // before the precondition (412), docs/standards.md §5.
        'unknown_po_line',
      ],
      cancel: ['precondition-failed', 'invalid-state'],
    };
    t.same(
      statuses.filter((x) => x.status >= 400 && !allowed[x.kind].includes(x.why ?? '')),
      [],
      'every refusal is one the rules allow',
    );
    t.ok(
      statuses.some((x) => x.kind === 'receipt' && x.status === 201),
      'a receipt was posted',
    );
    t.ok(revisions > 0, 'a revision succeeded');

    const after = await getPo(s, po.id);
    const sums = await s.sql<{ po_line_id: string; n: number }[]>`
      SELECT rl.po_line_id, sum(rl.qty_received)::float8 AS n
      FROM receipt_lines rl JOIN receipts r ON r.id = rl.receipt_id
      WHERE r.po_id = ${po.id} AND r.status = 'POSTED' GROUP BY rl.po_line_id`;
    const posted = new Map(sums.map((r) => [r.po_line_id, r.n]));
    for (const l of after.lines) {
      t.equal(l.qty_received, posted.get(l.id) ?? 0, `line ${l.id}: received = posted receipts`);
      t.ok(l.qty_received + l.qty_cancelled <= l.qty, `line ${l.id} within its quantity`);
    }
    for (const id of posted.keys())
      t.ok(
        after.lines.some((l) => l.id === id),
        'no line with receipts was removed',
      );
    const [{ n }] = await s.sql`
      SELECT count(*)::int AS n FROM purchase_order_lines
      WHERE po_id = ${po.id} AND (qty_received + qty_cancelled > qty OR qty_returned > qty_received)`;
    t.equal(n, 0, 'the database agrees');
    t.same((await checkInvariants(s.sql)).violations, [], 'stock and orders match the ledger');
    t.equal(after.revision, 1 + revisions, 'revision = 1 + successful revisions');
    t.equal((await history(s, po.id)).length + 1, after.revision, 'one history row per revision');
    const open = after.lines.some((l) => l.qty_received + l.qty_cancelled < l.qty);
    if (after.status === 'SENT') t.ok(open);
    else t.notOk(open, `${after.status}: nothing open`);
  },
);

t.test(
  'a draft receipt moved onto a line while a change order removes it: one wins, never a 5xx',
  async (t) => {
    const s = await startServer(t);
    const api = s.client();
    await seedCatalogue(api);
    for (let round = 0; round < 6; round++) {
      const po = await sentPo(api, {
        lines: [
          { item_id: 'bolt', qty: 10, unit_price: '0.50' },
          { item_id: 'bolt', qty: 6, unit_price: '0.60' },
        ],
      });
      const [kept, doomed] = po.lines;
      const draft = ok(
        await api.POST('/procurement/receipts', {
          params: { header: ik() },
          body: {
            po_id: po.id,
            warehouse_id: 'WH-A',
            draft: true,
            lines: [{ po_line_id: kept.id, qty_received: 1 }],
          },
        }),
      );
      const [edit, revision] = await Promise.all([
        api.PUT('/procurement/receipts/{id}', {
          params: { path: { id: draft.id }, header: { 'If-Match': draft.etag } },
          body: { warehouse_id: 'WH-A', lines: [{ po_line_id: doomed.id, qty_received: 1 }] },
        }),
        revise(s, po.id, po.etag, {
          reason: 'the second line is dropped',
          lines: [{ id: kept.id, item_id: 'bolt', qty: 10, unit_price: '0.50' }],
        }),
      ]);
      const statuses = [edit.response.status, revision.response.status];
      t.ok(
        (statuses[0] === 200 && statuses[1] === 422) ||
          (statuses[0] === 422 && statuses[1] === 200),
        `round ${round}: exactly one wins (${statuses.join(', ')})`,
      );
      const after = await getPo(s, po.id);
      const named = await s.sql`
      SELECT po_line_id FROM receipt_lines WHERE receipt_id = ${draft.id}`;
      t.ok(
        named.every((l) => after.lines.some((line) => line.id === l.po_line_id)),
        'the receipt names only lines the order has',
      );
    }
  },
);
