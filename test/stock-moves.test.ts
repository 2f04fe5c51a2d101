// POST /inventory/stock-moves and its reads: the spec's transfer example, idempotency, the 409s and
// 422s of createStockMove (docs/standards.md §1), FEFO, and what every posting writes besides stock (outbox event, audit entry).
import t from 'tap';
import type { components } from '../generated/api.ts';
import { createItem, level, postMove, posted, startStockServer } from './helpers/stock.ts';

type StockMoveCreate = components['schemas']['StockMoveCreate'];

const TRANSFER_EXAMPLE =
  '{ "type":"TRANSFER","from_wh":"WH-A","to_wh":"WH-B","lines":[{"item_id":"sku-1","qty":10}] }';

t.test(
  'the transfer example of the spec, posted once per Idempotency-Key, with one outbox event and one audit entry',
  async (t) => {
    const { s, api } = await startStockServer(t, ['WH-A', 'WH-B'], { 'sku-1': 'NONE' });
    await posted(api, {
      type: 'RECEIPT',
      to_wh: 'WH-A',
      reference: 'Opening stock',
      lines: [{ item_id: 'sku-1', qty: 40 }],
    });

    const send = (key: string, body = TRANSFER_EXAMPLE) =>
      s.request('/inventory/stock-moves', {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
      });
    const first = await send('transfer-1');
    const move = await first.json();
    t.equal(first.status, 201, JSON.stringify(move));
    t.match(move, {
      id: /^sm_[0-9A-Z]{26}$/,
      status: 'POSTED',
      type: 'TRANSFER',
      from_wh: 'WH-A',
      to_wh: 'WH-B',
      lines: [{ item_id: 'sku-1', qty: 10, serials: [] }],
      idempotency_key: 'transfer-1',
      created_by: 'tester',
    });
    t.equal(first.headers.get('location'), `/inventory/stock-moves/${move.id}`);

    const replay = await send('transfer-1');
    t.equal(replay.status, 201);
    t.equal(replay.headers.get('idempotent-replayed'), 'true');
    t.same(await replay.json(), move, 'the replay answers the stored move');
    t.equal(
      (await send('transfer-1', TRANSFER_EXAMPLE.replace('10', '11'))).status,
      422,
      'same key, other body: idempotency-key-reused',
    );
    const missing = await s.request('/inventory/stock-moves', {
      method: 'POST',
      json: JSON.parse(TRANSFER_EXAMPLE),
    });
    t.match(await missing.json(), { status: 400, type: /idempotency-key-missing$/ });

    t.match(
      await level(api, 'sku-1', 'WH-A'),
      { on_hand: 30, reserved: 0, available: 30 },
      'posted exactly once',
    );
    t.match(await level(api, 'sku-1', 'WH-B'), { on_hand: 10, available: 10 });

    const events =
      await s.sql`SELECT type, payload FROM outbox WHERE payload->'data'->>'id' = ${move.id}`;
    t.equal(events.length, 1, 'one outbox event');
    t.equal(events[0].type, 'inventory.stock_move.posted');
    t.same(events[0].payload.data, move, 'its payload is the move');
    t.match(events[0].payload, { id: /^evt_/, type: 'inventory.stock_move.posted' });

    const audit = await api.GET('/inventory/audit', {
      params: { query: { entity: 'stock_move', id: move.id } },
    });
    t.equal(audit.data?.data.length, 1, 'one audit entry');
    t.match(audit.data?.data[0], {
      action: 'stock_move.posted',
      actor: 'tester',
      entity_id: move.id,
      before: null,
      request_id: first.headers.get('x-request-id'),
    });
    t.same(audit.data?.data[0].after, move);

    const got = await api.GET('/inventory/stock-moves/{id}', { params: { path: { id: move.id } } });
    t.same(got.data, move);
    t.equal(
      (await api.GET('/inventory/stock-moves/{id}', { params: { path: { id: 'sm_nope' } } }))
        .response.status,
      404,
    );
    const transfers = await api.GET('/inventory/stock-moves', {
      params: { query: { type: 'TRANSFER', item_id: 'sku-1', warehouse_id: 'WH-B' } },
    });
    t.same(
      transfers.data?.data.map((m) => m.id),
      [move.id],
    );
    const all = await api.GET('/inventory/stock-moves', { params: { query: { limit: 1 } } });
    t.same(
      all.data?.data.map((m) => m.id),
      [move.id],
      'newest first',
    );
    const next = await api.GET('/inventory/stock-moves', {
      params: { query: { limit: 1, cursor: all.data!.page.next_cursor } },
    });
    t.match(next.data, {
      data: [{ type: 'RECEIPT', reference: 'Opening stock' }],
      page: { has_more: false },
    });

    const racing = await Promise.all(Array.from({ length: 5 }, () => send('transfer-2')));
    t.same(
      racing.map((r) => r.status),
      [201, 201, 201, 201, 201],
    );
    t.equal(
      new Set(await Promise.all(racing.map(async (r) => (await r.json()).id))).size,
      1,
      'concurrent requests with one key get one move',
    );
    t.match(await level(api, 'sku-1', 'WH-A'), { on_hand: 20 }, 'posted once more, not five times');
  },
);

t.test(
  '409 over-issuance: lines of an item are summed, and a refused move changes nothing',
  async (t) => {
    const { s, api } = await startStockServer(t, ['WH-A', 'WH-B'], {
      'sku-1': 'NONE',
      'sku-2': 'NONE',
    });
    await posted(api, {
      type: 'RECEIPT',
      to_wh: 'WH-A',
      lines: [
        { item_id: 'sku-1', qty: 40 },
        { item_id: 'sku-2', qty: 5 },
      ],
    });

    const over = await postMove(api, {
      type: 'ISSUE',
      from_wh: 'WH-A',
      lines: [
        { item_id: 'sku-2', qty: 5 },
        { item_id: 'sku-1', qty: 25 },
        { item_id: 'sku-1', qty: 25 },
      ],
    });
    t.equal(over.response.status, 409);
    t.match(over.error, {
      type: 'https://problems.inventory-api.dev/over-issuance',
      item_id: 'sku-1',
      warehouse_id: 'WH-A',
      requested: 50,
      available: 40,
      detail: /40 of sku-1 available in WH-A; 50 requested/,
    });
    t.match(
      await level(api, 'sku-2', 'WH-A'),
      { on_hand: 5 },
      'no line of the refused move was applied',
    );
    const [{ moves }] = await s.sql`SELECT count(*) AS moves FROM stock_moves`;
    const [{ events }] =
      await s.sql`SELECT count(*) AS events FROM outbox WHERE type = 'inventory.stock_move.posted'`;
    t.same([moves, events], [1, 1], 'no move, no event for the refused one');

    const none = await postMove(api, {
      type: 'TRANSFER',
      from_wh: 'WH-B',
      to_wh: 'WH-A',
      lines: [{ item_id: 'sku-1', qty: 1 }],
    });
    t.match(
      none.error,
      { status: 409, warehouse_id: 'WH-B', requested: 1, available: 0 },
      'nothing was ever in WH-B',
    );

    // Quantities are exact to 6 decimals: 0.1 + 0.2 of 0.3 on hand is all of it, not more.
    await posted(api, {
      type: 'RECEIPT',
      to_wh: 'WH-B',
      lines: [
        { item_id: 'sku-2', qty: 0.1 },
        { item_id: 'sku-2', qty: 0.2 },
      ],
    });
    await posted(api, {
      type: 'ISSUE',
      from_wh: 'WH-B',
      lines: [
        { item_id: 'sku-2', qty: 0.2 },
        { item_id: 'sku-2', qty: 0.1 },
      ],
    });
    t.match(await level(api, 'sku-2', 'WH-B'), { on_hand: 0, available: 0 });
  },
);

t.test(
  '422 validation-error points at every broken rule, and is replayed under its key',
  async (t) => {
    const { s, api } = await startStockServer(t, ['WH-A', 'WH-B'], {
      'sku-1': 'NONE',
      glue: 'BATCH',
      drill: 'SERIAL',
    });
    await api.POST('/inventory/warehouses', {
      body: { id: 'WH-OLD', name: 'Closed', active: false },
    });
    await createItem(api, 'old', 'NONE', { active: false });

    const cases: [string, StockMoveCreate, [string, string][]][] = [
      [
        'unknown and inactive items',
        {
          type: 'RECEIPT',
          to_wh: 'WH-A',
          lines: [
            { item_id: 'nope', qty: 1 },
            { item_id: 'old', qty: 1 },
          ],
        },
        [
          ['#/lines/0/item_id', 'unknown_item'],
          ['#/lines/1/item_id', 'inactive_item'],
        ],
      ],
      [
        'unknown and inactive warehouses',
        {
          type: 'TRANSFER',
          from_wh: 'WH-NOPE',
          to_wh: 'WH-OLD',
          lines: [{ item_id: 'sku-1', qty: 1 }],
        },
        [
          ['#/from_wh', 'unknown_warehouse'],
          ['#/to_wh', 'inactive_warehouse'],
        ],
      ],
      [
        'TRANSFER to the same warehouse',
        { type: 'TRANSFER', from_wh: 'WH-A', to_wh: 'WH-A', lines: [{ item_id: 'sku-1', qty: 1 }] },
        [['#/to_wh', 'same_warehouse']],
      ],
      [
        'warehouses the type does not take',
        { type: 'ISSUE', to_wh: 'WH-A', lines: [{ item_id: 'sku-1', qty: 1 }] },
        [
          ['#/from_wh', 'required'],
          ['#/to_wh', 'not_allowed'],
        ],
      ],
      [
        'ADJUSTMENT without reason',
        { type: 'ADJUSTMENT', to_wh: 'WH-A', lines: [{ item_id: 'sku-1', qty: -1 }] },
        [['#/reason', 'required']],
      ],
      [
        'negative qty outside ADJUSTMENT, fields of other types',
        {
          type: 'RECEIPT',
          to_wh: 'WH-A',
          lines: [
            { item_id: 'sku-1', qty: -1 },
            { item_id: 'sku-1', qty: 1, expected_on_hand: 3, reservation_id: 'res_1' },
          ],
        },
        [
          ['#/lines/0/qty', 'exclusiveMinimum'],
          ['#/lines/1/expected_on_hand', 'not_allowed'],
          ['#/lines/1/reservation_id', 'not_allowed'],
        ],
      ],
      [
        'missing batch on a BATCH item, batch and serials on an untracked one',
        {
          type: 'RECEIPT',
          to_wh: 'WH-A',
          lines: [
            { item_id: 'glue', qty: 1 },
            { item_id: 'sku-1', qty: 1, batch: 'B1', serials: ['X'] },
          ],
        },
        [
          ['#/lines/0/batch', 'required'],
          ['#/lines/1/batch', 'not_allowed'],
          ['#/lines/1/serials', 'not_allowed'],
        ],
      ],
      [
        'expiry on a line taking stock out',
        {
          type: 'ISSUE',
          from_wh: 'WH-A',
          lines: [{ item_id: 'glue', qty: 1, batch: 'B1', expires_at: '2027-01-01T00:00:00Z' }],
        },
        [['#/lines/0/expires_at', 'not_allowed']],
      ],
      [
        'serial count ≠ qty, fractional serial qty, a serial twice',
        {
          type: 'RECEIPT',
          to_wh: 'WH-A',
          lines: [
            { item_id: 'drill', qty: 2, serials: ['D1'] },
            { item_id: 'drill', qty: 1.5, serials: ['D2'] },
            { item_id: 'drill', qty: 1, serials: ['D1'] },
          ],
        },
        [
          ['#/lines/0/serials', 'serial_count'],
          ['#/lines/1/qty', 'whole_number'],
          ['#/lines/2/serials/0', 'duplicate_serial'],
        ],
      ],
    ];
    for (const [i, [name, body, expected]] of cases.entries()) {
      const { response, error } = await postMove(api, body, `bad-${i}`);
      t.equal(response.status, 422, name);
      t.match(error, { type: 'https://problems.inventory-api.dev/validation-error' }, name);
      t.same(
        error?.errors?.map((e) => [e.pointer, e.code]),
        expected,
        name,
      );
    }
    const replay = await postMove(api, cases[0][1], 'bad-0');
    t.equal(replay.response.headers.get('idempotent-replayed'), 'true', 'a stored 422 is replayed');
    t.equal(replay.response.status, 422);
    const [{ moves }] = await s.sql`SELECT count(*) AS moves FROM stock_moves`;
    t.equal(moves, 0);
  },
);

t.test('ADJUSTMENT: signed quantities and the expected_on_hand compare-and-swap', async (t) => {
  const { api } = await startStockServer(t, ['WH-A'], { 'sku-1': 'NONE', glue: 'BATCH' });
  await posted(api, {
    type: 'RECEIPT',
    to_wh: 'WH-A',
    lines: [
      { item_id: 'sku-1', qty: 40 },
      { item_id: 'glue', qty: 6, batch: 'B1' },
    ],
  });

  const count: StockMoveCreate = {
    type: 'ADJUSTMENT',
    to_wh: 'WH-A',
    reason: 'Cycle count 2026-11',
    lines: [{ item_id: 'sku-1', qty: -3, expected_on_hand: 40 }],
  };
  const first = await postMove(api, count);
  t.equal(first.response.status, 201);
  t.match(first.data?.lines, [{ item_id: 'sku-1', qty: -3, expected_on_hand: 40 }]);
  const again = await postMove(api, count);
  t.equal(again.response.status, 409);
  t.match(again.error, {
    type: /count-mismatch$/,
    item_id: 'sku-1',
    warehouse_id: 'WH-A',
    expected: 40,
    actual: 37,
  });
  t.match(await level(api, 'sku-1', 'WH-A'), { on_hand: 37 });

  await posted(api, {
    type: 'ADJUSTMENT',
    to_wh: 'WH-A',
    reason: 'Found',
    lines: [
      { item_id: 'sku-1', qty: 2 },
      { item_id: 'glue', qty: 1, batch: 'B2' },
    ],
  });
  const batchCount = await postMove(api, {
    type: 'ADJUSTMENT',
    to_wh: 'WH-A',
    reason: 'Recount',
    lines: [{ item_id: 'glue', qty: -1, batch: 'B1', expected_on_hand: 7 }],
  });
  t.match(
    batchCount.error,
    { status: 409, batch: 'B1', expected: 7, actual: 6 },
    'expected_on_hand of a named batch compares that batch',
  );
  const tooMuch = await postMove(api, {
    type: 'ADJUSTMENT',
    to_wh: 'WH-A',
    reason: 'Lost',
    lines: [{ item_id: 'sku-1', qty: -40 }],
  });
  t.match(tooMuch.error, { status: 409, type: /over-issuance$/, requested: 40, available: 39 });
  t.match(await level(api, 'sku-1', 'WH-A'), { on_hand: 39 });
  t.match(await level(api, 'glue', 'WH-A'), {
    on_hand: 7,
    batches: [
      { batch: 'B1', on_hand: 6 },
      { batch: 'B2', on_hand: 1 },
    ],
  });
});

t.test(
  'batch issues without a batch take the earliest expiry first (FEFO) and record the batches taken',
  async (t) => {
    const { api } = await startStockServer(t, ['WH-A', 'WH-B'], { glue: 'BATCH' });
    await posted(api, {
      type: 'RECEIPT',
      to_wh: 'WH-A',
      lines: [
        { item_id: 'glue', qty: 4, batch: 'LATE', expires_at: '2027-06-30T00:00:00Z' },
        { item_id: 'glue', qty: 4, batch: 'NEVER' },
        { item_id: 'glue', qty: 4, batch: 'EARLY', expires_at: '2027-01-31T00:00:00Z' },
      ],
    });
    t.match(await level(api, 'glue', 'WH-A'), {
      on_hand: 12,
      batches: [
        { batch: 'EARLY', on_hand: 4, expires_at: '2027-01-31T00:00:00.000Z' },
        { batch: 'LATE', on_hand: 4 },
        { batch: 'NEVER', on_hand: 4, expires_at: null },
      ],
    });

    const issue = await posted(api, {
      type: 'ISSUE',
      from_wh: 'WH-A',
      lines: [{ item_id: 'glue', qty: 6 }],
    });
    t.same(
      issue.lines.map((l) => [l.batch, l.qty, l.expires_at]),
      [
        ['EARLY', 4, '2027-01-31T00:00:00.000Z'],
        ['LATE', 2, '2027-06-30T00:00:00.000Z'],
      ],
    );
    const transfer = await posted(api, {
      type: 'TRANSFER',
      from_wh: 'WH-A',
      to_wh: 'WH-B',
      lines: [
        { item_id: 'glue', qty: 1, batch: 'NEVER' },
        { item_id: 'glue', qty: 4 },
      ],
    });
    t.same(
      transfer.lines.map((l) => [l.batch, l.qty]),
      [
        ['NEVER', 1],
        ['LATE', 2],
        ['NEVER', 2],
      ],
      'named lines first, FEFO takes what is left',
    );
    t.match(
      await level(api, 'glue', 'WH-A'),
      { on_hand: 1, batches: [{ batch: 'NEVER', on_hand: 1 }] },
      'empty batches are not listed',
    );
    t.match(
      await level(api, 'glue', 'WH-B'),
      {
        on_hand: 5,
        batches: [
          { batch: 'LATE', on_hand: 2, expires_at: '2027-06-30T00:00:00.000Z' },
          { batch: 'NEVER', on_hand: 3 },
        ],
      },
      'batches keep their expiry when transferred',
    );

    const named = await postMove(api, {
      type: 'ISSUE',
      from_wh: 'WH-B',
      lines: [{ item_id: 'glue', qty: 3, batch: 'LATE' }],
    });
    t.match(named.error, {
      status: 409,
      type: /over-issuance$/,
      item_id: 'glue',
      warehouse_id: 'WH-B',
      batch: 'LATE',
      requested: 3,
      available: 2,
    });
  },
);

t.test(
  'a token restricted to some warehouses can neither move nor see stock elsewhere',
  async (t) => {
    const { s, api: admin } = await startStockServer(t, ['WH-A', 'WH-B'], {
      'sku-1': 'NONE',
      drill: 'SERIAL',
    });
    const receiptB = await posted(admin, {
      type: 'RECEIPT',
      to_wh: 'WH-B',
      lines: [
        { item_id: 'sku-1', qty: 5 },
        { item_id: 'drill', qty: 1, serials: ['D-B'] },
      ],
    });
    const transfer = await posted(admin, {
      type: 'TRANSFER',
      from_wh: 'WH-B',
      to_wh: 'WH-A',
      lines: [{ item_id: 'sku-1', qty: 2 }],
    });
    await posted(admin, {
      type: 'RECEIPT',
      to_wh: 'WH-A',
      lines: [{ item_id: 'drill', qty: 1, serials: ['D-A'] }],
    });

    const onlyA = s.client({ warehouses: ['WH-A'] });
    const forbidden = await postMove(onlyA, {
      type: 'TRANSFER',
      from_wh: 'WH-A',
      to_wh: 'WH-B',
      lines: [{ item_id: 'sku-1', qty: 1 }],
    });
    t.equal(forbidden.response.status, 403);
    t.match(forbidden.error, { type: /warehouse-forbidden$/, warehouse_id: 'WH-B' });
    t.match(await level(admin, 'sku-1', 'WH-A'), { on_hand: 2 }, 'nothing moved');

    const levels = await onlyA.GET('/inventory/stock-levels', {});
    t.same(
      levels.data?.data.map((l) => [l.item_id, l.warehouse_id]),
      [
        ['drill', 'WH-A'],
        ['sku-1', 'WH-A'],
      ],
    );
    const keys: string[][] = [];
    for (let cursor: string | undefined, more = true; more; ) {
      const { data } = await admin.GET('/inventory/stock-levels', {
        params: { query: { limit: 3, cursor } },
      });
      keys.push(...data!.data.map((l) => [l.item_id, l.warehouse_id]));
      [cursor, more] = [data!.page.next_cursor, data!.page.has_more];
    }
    t.same(
      keys,
      [
        ['drill', 'WH-A'],
        ['drill', 'WH-B'],
        ['sku-1', 'WH-A'],
        ['sku-1', 'WH-B'],
      ],
      'pages of stock levels in (item, warehouse) order',
    );
    t.match(
      (await onlyA.GET('/inventory/stock-levels', { params: { query: { warehouse_id: 'WH-B' } } }))
        .error,
      { status: 403, warehouse_id: 'WH-B' },
    );
    t.equal(
      (await onlyA.GET('/inventory/stock-moves/{id}', { params: { path: { id: receiptB.id } } }))
        .response.status,
      403,
    );
    t.equal(
      (await onlyA.GET('/inventory/stock-moves/{id}', { params: { path: { id: transfer.id } } }))
        .response.status,
      200,
      'a move touching WH-A is visible',
    );
    t.equal((await onlyA.GET('/inventory/stock-moves', {})).data?.data.length, 2);
    t.same(
      (await onlyA.GET('/inventory/serials', {})).data?.data.map((x) => x.serial),
      ['D-A'],
    );
    const audit = await onlyA.GET('/inventory/audit', {
      params: { query: { entity: 'stock_move' } },
    });
    t.notOk(
      audit.data?.data.some((e) => e.entity_id === receiptB.id),
      'audit entries about WH-B only are left out',
    );
    t.equal(audit.data?.data.length, 2);
    const newest = await admin.GET('/inventory/audit', { params: { query: { limit: 2 } } });
    const older = await admin.GET('/inventory/audit', {
      params: { query: { limit: 2, cursor: newest.data!.page.next_cursor } },
    });
    const ids = [...newest.data!.data, ...older.data!.data].map((e) => Number(e.id));
    t.same(
      ids,
      [...ids].sort((a, b) => b - a),
      'audit pages run newest first',
    );
    t.equal(new Set(ids).size, 4);
  },
);
