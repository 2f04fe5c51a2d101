// Held stock states (quality control, damaged): status changes, receipts into quality control,
// scrapping, and that only unrestricted stock is reserved, issued, transferred or picked (FEFO).
// Refusals change nothing; under concurrency the database's CHECKs hold and the figures equal the
// documents (invariant 15).
import t, { type Test } from 'tap';
import type { components } from '../generated/api.ts';
import type { ApiClient } from '../generated/client.ts';
import { checkInvariants } from '../scripts/lib/invariants.ts';
import { ik, ok, receive, seedCatalogue, sentPo } from './helpers/procurement.ts';
import { startServer, type TestServer } from './helpers/server.ts';
import { level, postMove, posted, reserve, reverse, startStockServer } from './helpers/stock.ts';

type Line = components['schemas']['StatusChangeLineInput'];

function statusChange(api: ApiClient, lines: Line[], warehouse_id = 'WH-A') {
  return api.POST('/inventory/status-changes', {
    params: { header: ik() },
    body: { warehouse_id, reason: 'Inspection', lines },
  });
}

/** What the database holds for a level, its batches and serials, and how many status changes exist. */
async function snapshot(s: TestServer) {
  return {
    levels: await s.sql`SELECT * FROM stock_levels ORDER BY item_id, warehouse_id`,
    batches: await s.sql`SELECT * FROM batch_levels ORDER BY item_id, warehouse_id, batch`,
    serials:
      await s.sql`SELECT item_id, serial, warehouse_id, status, state FROM serials ORDER BY 1, 2`,
    changes: (await s.sql`SELECT count(*)::int AS n FROM status_changes`)[0].n,
  };
}

async function invariantsHold(t: Test, s: TestServer) {
  t.same((await checkInvariants(s.sql)).violations, [], 'invariants hold');
}

t.test('status changes move stock between states; available excludes held stock', async (t) => {
  const { s, api } = await startStockServer(t, ['WH-A', 'WH-B'], { 'sku-1': 'NONE' });
  await posted(api, { type: 'RECEIPT', to_wh: 'WH-A', lines: [{ item_id: 'sku-1', qty: 10 }] });

  const held = await statusChange(api, [
    { item_id: 'sku-1', qty: 4, from_state: 'unrestricted', to_state: 'quality_control' },
  ]);
  t.equal(held.response.status, 201);
  const sc = held.data!;
  t.match(sc, {
    id: /^sc_/,
    warehouse_id: 'WH-A',
    reason: 'Inspection',
    lines: [{ item_id: 'sku-1', qty: 4, from_state: 'unrestricted', to_state: 'quality_control' }],
  });
  t.equal(held.response.headers.get('location'), `/inventory/status-changes/${sc.id}`);
  t.match(await level(api, 'sku-1', 'WH-A'), {
    on_hand: 10,
    reserved: 0,
    quality_control: 4,
    damaged: 0,
    available: 6,
  });
  t.same(
    ok(await api.GET('/inventory/status-changes/{id}', { params: { path: { id: sc.id } } })),
    sc,
    'GET answers what POST did',
  );
  t.same(
    ok(await api.GET('/inventory/status-changes', { params: { query: { warehouse_id: 'WH-A' } } }))
      .data,
    [sc],
  );
  // Its events, in order: the level (every figure, cause the status change), then the document.
  const events = await s.sql<{ type: string; payload: any }[]>`
    SELECT type, payload FROM outbox WHERE payload->'data'->>'id' = ${sc.id} OR payload->'data'->>'cause' = ${sc.id} ORDER BY seq`;
  t.match(
    events.map((e) => [e.type, e.payload.data]),
    [
      [
        'inventory.stock_level.changed',
        { item_id: 'sku-1', on_hand: 10, quality_control: 4, damaged: 0, available: 6 },
      ],
      ['inventory.status_change.posted', sc],
    ],
  );
  const audits = await s.sql`SELECT action, entity FROM audit_log WHERE entity_id = ${sc.id}`;
  t.match(audits, [{ action: 'status_change.posted', entity: 'status_change' }]);
  // A retry with the same key is answered the same and applies nothing more.
  const key = ik();
  const once = async () =>
    api.POST('/inventory/status-changes', {
      params: { header: key },
      body: {
        warehouse_id: 'WH-A',
        reason: 'Retried',
        lines: [
          { item_id: 'sku-1', qty: 1, from_state: 'quality_control', to_state: 'unrestricted' },
        ],
      },
    });
  const first = ok(await once());
  const again = await once();
  t.same([again.response.status, again.data], [201, first], 'the retry is answered the same');
  t.match(await level(api, 'sku-1', 'WH-A'), { quality_control: 3 }, 'applied once');
  ok(
    await statusChange(api, [
      { item_id: 'sku-1', qty: 1, from_state: 'unrestricted', to_state: 'quality_control' },
    ]),
  );
  const page1 = ok(await api.GET('/inventory/status-changes', { params: { query: { limit: 2 } } }));
  t.equal(page1.data.length, 2, 'newest first, two a page');
  const page2 = ok(
    await api.GET('/inventory/status-changes', {
      params: { query: { limit: 2, cursor: page1.page.next_cursor! } },
    }),
  );
  t.same([...page1.data, ...page2.data].map((c) => c.id).reverse()[0], sc.id, 'the first one last');
  t.equal(page1.data.length + page2.data.length, 3);

  ok(
    await statusChange(api, [
      { item_id: 'sku-1', qty: 1, from_state: 'quality_control', to_state: 'damaged' },
    ]),
  );
  // Scrap: an ISSUE from the damaged stock.
  const scrap = await posted(api, {
    type: 'ISSUE',
    from_wh: 'WH-A',
    reason: 'Scrap',
    lines: [{ item_id: 'sku-1', qty: 1, from_state: 'damaged' }],
  });
  t.match(scrap.lines, [{ qty: 1, from_state: 'damaged' }]);
  t.match(await level(api, 'sku-1', 'WH-A'), {
    on_hand: 9,
    quality_control: 3,
    damaged: 0,
    available: 6,
  });

  // Only unrestricted stock is issued, transferred or reserved.
  const issue = await postMove(api, {
    type: 'ISSUE',
    from_wh: 'WH-A',
    lines: [{ item_id: 'sku-1', qty: 7 }],
  });
  t.match([issue.response.status, issue.error], [409, { type: /over-issuance$/, available: 6 }]);
  const transfer = await postMove(api, {
    type: 'TRANSFER',
    from_wh: 'WH-A',
    to_wh: 'WH-B',
    lines: [{ item_id: 'sku-1', qty: 7 }],
  });
  t.equal(transfer.response.status, 409);
  const reservation = await reserve(api, { item_id: 'sku-1', warehouse_id: 'WH-A', qty: 7 });
  t.match(reservation.error, { status: 409, available: 6 });
  ok(await reserve(api, { item_id: 'sku-1', warehouse_id: 'WH-A', qty: 6 }));
  // Reserved stock cannot be held: unrestricted less reserved is 0.
  const before = await snapshot(s);
  const overHeld = await statusChange(api, [
    { item_id: 'sku-1', qty: 1, from_state: 'unrestricted', to_state: 'damaged' },
  ]);
  t.match(
    [overHeld.response.status, overHeld.error],
    [
      409,
      {
        type: /insufficient-quantity$/,
        item_id: 'sku-1',
        warehouse_id: 'WH-A',
        state: 'unrestricted',
        requested: 1,
        available: 0,
      },
    ],
  );
  // More scrap than is held.
  const overScrap = await postMove(api, {
    type: 'ISSUE',
    from_wh: 'WH-A',
    lines: [{ item_id: 'sku-1', qty: 4, from_state: 'quality_control' }],
  });
  t.match(overScrap.error, {
    status: 409,
    type: /insufficient-quantity$/,
    state: 'quality_control',
    available: 3,
  });
  t.same(await snapshot(s), before, 'refusals changed nothing');
  await invariantsHold(t, s);
});

t.test('refused status changes change nothing', async (t) => {
  const { s, api } = await startStockServer(t, ['WH-A', 'WH-B'], {
    'sku-1': 'NONE',
    glue: 'BATCH',
    drill: 'SERIAL',
  });
  await posted(api, {
    type: 'RECEIPT',
    to_wh: 'WH-A',
    lines: [
      { item_id: 'sku-1', qty: 5 },
      { item_id: 'glue', qty: 5, batch: 'B1' },
      { item_id: 'drill', qty: 1, serials: ['D1'] },
    ],
  });
  const before = await snapshot(s);
  const cases: [string, Line[], number, RegExp | string, string?][] = [
    [
      'the same state',
      [{ item_id: 'sku-1', qty: 1, from_state: 'damaged', to_state: 'damaged' }],
      422,
      'same_state',
    ],
    [
      'a batch item without its batch',
      [{ item_id: 'glue', qty: 1, from_state: 'unrestricted', to_state: 'damaged' }],
      422,
      'required',
    ],
    [
      'a batch on an item without batches',
      [{ item_id: 'sku-1', qty: 1, from_state: 'unrestricted', to_state: 'damaged', batch: 'X' }],
      422,
      'not_allowed',
    ],
    [
      'serials that are not there',
      [
        {
          item_id: 'drill',
          qty: 1,
          from_state: 'unrestricted',
          to_state: 'damaged',
          serials: ['D9'],
        },
      ],
      422,
      'serial_not_in_stock',
    ],
    [
      'a serial in another state',
      [
        {
          item_id: 'drill',
          qty: 1,
          from_state: 'quality_control',
          to_state: 'damaged',
          serials: ['D1'],
        },
      ],
      409,
      /insufficient-quantity$/,
    ],
    [
      'an unknown item',
      [{ item_id: 'nope', qty: 1, from_state: 'unrestricted', to_state: 'damaged' }],
      422,
      'unknown_item',
    ],
    [
      'more than is held',
      [{ item_id: 'sku-1', qty: 1, from_state: 'quality_control', to_state: 'unrestricted' }],
      409,
      /insufficient-quantity$/,
    ],
    [
      'more than a batch has',
      [
        {
          item_id: 'glue',
          qty: 6,
          from_state: 'unrestricted',
          to_state: 'damaged',
          batch: 'B1',
        },
      ],
      409,
      /insufficient-quantity$/,
    ],
    [
      'one good line and one bad: none',
      [
        { item_id: 'sku-1', qty: 1, from_state: 'unrestricted', to_state: 'damaged' },
        { item_id: 'sku-1', qty: 5, from_state: 'unrestricted', to_state: 'quality_control' },
      ],
      409,
      /insufficient-quantity$/,
    ],
  ];
  for (const [what, lines, status, code] of cases) {
    const res = await statusChange(api, lines);
    t.equal(res.response.status, status, what);
    if (typeof code === 'string')
      t.match((res.error as any)?.errors, [{ code }], `${what}: ${code}`);
    else t.match((res.error as any)?.type, code, what);
  }
  const nowhere = await statusChange(
    api,
    [{ item_id: 'sku-1', qty: 1, from_state: 'unrestricted', to_state: 'damaged' }],
    'WH-B',
  );
  t.match(nowhere.error, { status: 409, available: 0 }, 'no level there');
  const forbidden = await s.client({ warehouses: ['WH-B'] }).POST('/inventory/status-changes', {
    params: { header: ik() },
    body: {
      warehouse_id: 'WH-A',
      reason: 'x',
      lines: [{ item_id: 'sku-1', qty: 1, from_state: 'unrestricted', to_state: 'damaged' }],
    },
  });
  t.equal(forbidden.response.status, 403);
  // The SDK sends a key by itself: without one, by hand.
  const missingKey = await s.request('/inventory/status-changes', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      warehouse_id: 'WH-A',
      reason: 'x',
      lines: [{ item_id: 'sku-1', qty: 1, from_state: 'unrestricted', to_state: 'damaged' }],
    }),
  });
  t.match(await missingKey.json(), { status: 400, type: /idempotency-key-missing$/ });
  t.same(await snapshot(s), before, 'nothing changed');

  // A restricted token neither sees nor lists another warehouse's status changes.
  const sc = ok(
    await statusChange(api, [
      { item_id: 'sku-1', qty: 1, from_state: 'unrestricted', to_state: 'damaged' },
    ]),
  );
  const other = s.client({ warehouses: ['WH-B'] });
  t.equal(
    (await other.GET('/inventory/status-changes/{id}', { params: { path: { id: sc.id } } }))
      .response.status,
    403,
  );
  t.same(ok(await other.GET('/inventory/status-changes', {})).data, []);
  await invariantsHold(t, s);
});

t.test('batches keep their state; FEFO takes unrestricted stock only', async (t) => {
  const { s, api } = await startStockServer(t, ['WH-A'], { glue: 'BATCH' });
  await posted(api, {
    type: 'RECEIPT',
    to_wh: 'WH-A',
    lines: [
      { item_id: 'glue', qty: 5, batch: 'B1', expires_at: '2030-01-01T00:00:00.000Z' },
      { item_id: 'glue', qty: 5, batch: 'B2', expires_at: '2031-01-01T00:00:00.000Z' },
    ],
  });
  ok(
    await statusChange(api, [
      {
        item_id: 'glue',
        qty: 5,
        from_state: 'unrestricted',
        to_state: 'quality_control',
        batch: 'B1',
      },
    ]),
  );
  t.match(await level(api, 'glue', 'WH-A'), {
    on_hand: 10,
    quality_control: 5,
    available: 5,
    batches: [
      { batch: 'B1', on_hand: 5, quality_control: 5 },
      { batch: 'B2', on_hand: 5 },
    ],
  });
  const fefo = await posted(api, {
    type: 'ISSUE',
    from_wh: 'WH-A',
    lines: [{ item_id: 'glue', qty: 3 }],
  });
  t.match(fefo.lines, [{ batch: 'B2', qty: 3 }], 'FEFO skips the held batch');
  const scrap = await posted(api, {
    type: 'ISSUE',
    from_wh: 'WH-A',
    lines: [{ item_id: 'glue', qty: 2, from_state: 'quality_control' }],
  });
  t.match(scrap.lines, [{ batch: 'B1', qty: 2, from_state: 'quality_control' }]);
  const wrongBatch = await postMove(api, {
    type: 'ISSUE',
    from_wh: 'WH-A',
    lines: [{ item_id: 'glue', qty: 1, batch: 'B2', from_state: 'quality_control' }],
  });
  t.match(wrongBatch.error, { status: 409, type: /insufficient-quantity$/, batch: 'B2' });
  const heldBatch = await postMove(api, {
    type: 'ISSUE',
    from_wh: 'WH-A',
    lines: [{ item_id: 'glue', qty: 1, batch: 'B1' }],
  });
  t.match(heldBatch.error, { status: 409, type: /over-issuance$/, batch: 'B1' });
  t.match(await level(api, 'glue', 'WH-A'), {
    on_hand: 5,
    quality_control: 3,
    available: 2,
  });
  await invariantsHold(t, s);
});

t.test('serials keep their state; a RECEIPT into quality control and its reversal', async (t) => {
  const { s, api } = await startStockServer(t, ['WH-A'], { drill: 'SERIAL' });
  const received = await posted(api, {
    type: 'RECEIPT',
    to_wh: 'WH-A',
    lines: [{ item_id: 'drill', qty: 2, serials: ['D1', 'D2'], to_state: 'quality_control' }],
  });
  t.match(received.lines, [{ to_state: 'quality_control' }]);
  t.match(await level(api, 'drill', 'WH-A'), { on_hand: 2, quality_control: 2, available: 0 });
  t.match(
    ok(await api.GET('/inventory/serials', { params: { query: { item_id: 'drill' } } })).data,
    [
      { serial: 'D1', state: 'quality_control' },
      { serial: 'D2', state: 'quality_control' },
    ],
  );
  const notFree = await postMove(api, {
    type: 'ISSUE',
    from_wh: 'WH-A',
    lines: [{ item_id: 'drill', qty: 1, serials: ['D1'] }],
  });
  t.equal(notFree.response.status, 409, 'held serials are not available');
  ok(
    await statusChange(api, [
      {
        item_id: 'drill',
        qty: 1,
        from_state: 'quality_control',
        to_state: 'unrestricted',
        serials: ['D1'],
      },
    ]),
  );
  const wrongSerial = await postMove(api, {
    type: 'ISSUE',
    from_wh: 'WH-A',
    lines: [{ item_id: 'drill', qty: 1, serials: ['D2'] }],
  });
  t.match(wrongSerial.error, { status: 422, errors: [{ code: 'serial_not_in_stock' }] });
  await posted(api, {
    type: 'ISSUE',
    from_wh: 'WH-A',
    lines: [{ item_id: 'drill', qty: 1, serials: ['D1'] }],
  });
  // The receipt cannot be reversed whole any more (D1 left); a second one can.
  const second = await posted(api, {
    type: 'RECEIPT',
    to_wh: 'WH-A',
    lines: [{ item_id: 'drill', qty: 1, serials: ['D3'], to_state: 'quality_control' }],
  });
  const undone = await reverse(api, second.id);
  t.equal(undone.response.status, 201);
  t.match(undone.data?.lines, [{ serials: ['D3'], from_state: 'quality_control' }]);
  t.match(await level(api, 'drill', 'WH-A'), { on_hand: 1, quality_control: 1, available: 0 });
  await invariantsHold(t, s);
});

t.test('a procurement receipt into quality control, and its reversal', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  await seedCatalogue(api);
  const po = await sentPo(api, { ship_to_warehouse_id: 'WH-A' });
  const receipt = await receive(api, po, [
    { po_line_id: po.lines[0].id, qty_received: 4, to_state: 'quality_control' },
  ]);
  t.match(receipt.lines, [{ qty_received: 4, to_state: 'quality_control' }]);
  t.match(await level(api, 'bolt', 'WH-A'), { on_hand: 4, quality_control: 4, available: 0 });
  const reversed = await api.POST('/procurement/receipts/{id}/reverse', {
    params: { path: { id: receipt.id }, header: { ...ik(), 'If-Match': receipt.etag } },
  });
  ok(reversed);
  t.match(await level(api, 'bolt', 'WH-A'), { on_hand: 0, quality_control: 0 });
  const wrong = await postMove(api, {
    type: 'ISSUE',
    from_wh: 'WH-A',
    lines: [{ item_id: 'bolt', qty: 1, to_state: 'quality_control' }],
  });
  t.match(wrong.error, { status: 422, errors: [{ code: 'not_allowed' }] });
  await invariantsHold(t, s);
});

t.test('status changes, issues and reservations racing on one level', async (t) => {
  const { s, api } = await startStockServer(t, ['WH-A'], { 'sku-1': 'NONE' });
  await posted(api, { type: 'RECEIPT', to_wh: 'WH-A', lines: [{ item_id: 'sku-1', qty: 100 }] });
  const N = 20;
  const results = await Promise.all([
    ...Array.from({ length: N }, () =>
      statusChange(api, [
        { item_id: 'sku-1', qty: 5, from_state: 'unrestricted', to_state: 'damaged' },
      ]).then((r) => ['hold', r.response.status] as const),
    ),
    ...Array.from({ length: N }, () =>
      postMove(api, {
        type: 'ISSUE',
        from_wh: 'WH-A',
        lines: [{ item_id: 'sku-1', qty: 5 }],
      }).then((r) => ['issue', r.response.status] as const),
    ),
    ...Array.from({ length: N }, () =>
      reserve(api, { item_id: 'sku-1', warehouse_id: 'WH-A', qty: 5 }).then(
        (r) => ['reserve', r.response.status] as const,
      ),
    ),
    ...Array.from({ length: N / 2 }, () =>
      postMove(api, {
        type: 'ISSUE',
        from_wh: 'WH-A',
        lines: [{ item_id: 'sku-1', qty: 5, from_state: 'damaged' }],
      }).then((r) => ['scrap', r.response.status] as const),
    ),
  ]);
  t.same(
    results.filter(([, status]) => status !== 201 && status !== 409),
    [],
    'every request is accepted or refused for its stock: no 5xx',
  );
  const okCount = (kind: string) =>
    results.filter(([k, status]) => k === kind && status === 201).length;
  const [row] = await s.sql`SELECT * FROM stock_levels WHERE item_id = 'sku-1'`;
  t.equal(
    Number(row.on_hand),
    100 - 5 * okCount('issue') - 5 * okCount('scrap'),
    'on hand is the receipt less what was issued and scrapped',
  );
  t.equal(Number(row.damaged), 5 * okCount('hold') - 5 * okCount('scrap'), 'damaged');
  t.equal(Number(row.reserved), 5 * okCount('reserve'), 'reserved');
  t.ok(
    Number(row.damaged) + Number(row.quality_control) + Number(row.reserved) <= Number(row.on_hand),
    'reserved fits in unrestricted stock',
  );
  await invariantsHold(t, s);
});

t.test('batches and serials racing: one state each, FEFO and holds never overdraw', async (t) => {
  const { s, api } = await startStockServer(t, ['WH-A'], { glue: 'BATCH', drill: 'SERIAL' });
  await posted(api, {
    type: 'RECEIPT',
    to_wh: 'WH-A',
    lines: [
      { item_id: 'glue', qty: 10, batch: 'B1', expires_at: '2030-01-01T00:00:00.000Z' },
      { item_id: 'glue', qty: 10, batch: 'B2', expires_at: '2031-01-01T00:00:00.000Z' },
      { item_id: 'drill', qty: 2, serials: ['D1', 'D2'] },
    ],
  });
  const N = 12;
  const results = await Promise.all([
    ...Array.from({ length: N }, (_, i) =>
      statusChange(api, [
        {
          item_id: 'glue',
          qty: 1,
          from_state: 'unrestricted',
          to_state: i % 2 ? 'quality_control' : 'damaged',
          batch: i % 3 ? 'B1' : 'B2',
        },
      ]).then((r) => ['hold', r.response.status] as const),
    ),
    ...Array.from({ length: N }, () =>
      postMove(api, {
        type: 'ISSUE',
        from_wh: 'WH-A',
        lines: [{ item_id: 'glue', qty: 1 }],
      }).then((r) => ['issue', r.response.status] as const),
    ),
    ...Array.from({ length: N / 2 }, () =>
      postMove(api, {
        type: 'ISSUE',
        from_wh: 'WH-A',
        lines: [{ item_id: 'glue', qty: 1, from_state: 'damaged' }],
      }).then((r) => ['scrap', r.response.status] as const),
    ),
    // The same serial put on hold four times at once: once only.
    ...Array.from({ length: 4 }, () =>
      statusChange(api, [
        {
          item_id: 'drill',
          qty: 1,
          from_state: 'unrestricted',
          to_state: 'damaged',
          serials: ['D1'],
        },
      ]).then((r) => ['serial', r.response.status] as const),
    ),
  ]);
  t.same(
    results.filter(([, status]) => ![201, 409, 422].includes(status)),
    [],
    'no 5xx',
  );
  t.equal(
    results.filter(([k, status]) => k === 'serial' && status === 201).length,
    1,
    'a serial changes state once',
  );
  const [drill] = await s.sql`SELECT state FROM serials WHERE serial = 'D1'`;
  t.equal(drill.state, 'damaged');
  t.match(await level(api, 'drill', 'WH-A'), { on_hand: 2, damaged: 1, available: 1 });
  await invariantsHold(t, s);
});
