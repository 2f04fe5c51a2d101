// Locations in the ledger: where stock comes in (named, putaway, DEFAULT), where it is taken from
// (named, or picked: FEFO for batches, then pick_order, then code; serials where they are), moves
// between two locations of one warehouse, counts at a location, status changes, receipts, their
// reversal and vendor returns at locations. Refusals change nothing; under concurrency every unit
// is taken once, and the locations always sum to the levels (invariant 16).
import t, { type Test } from 'tap';
import { randomUUID } from 'node:crypto';
import type { components } from '../generated/api.ts';
import type { ApiClient } from '../generated/client.ts';
import { checkInvariants } from '../scripts/lib/invariants.ts';
import { databaseFingerprint } from './helpers/db-fingerprint.ts';
import { eventsDispatched } from './helpers/wait.ts';
import { ik, ok, receive, seedCatalogue, sentPo } from './helpers/procurement.ts';
import { startServer, type TestServer } from './helpers/server.ts';
import { postMove, posted, reverse } from './helpers/stock.ts';

type StockMove = components['schemas']['StockMove'];

/** Bins of a warehouse: (code, pick_order), made directly in the table. */
async function bins(s: TestServer, warehouse_id: string, codes: [string, number][]) {
  for (const [code, pick_order] of codes)
    await s.sql`INSERT INTO locations (id, warehouse_id, code, pick_order)
      VALUES (${`loc_${randomUUID().replaceAll('-', '').slice(0, 26).toUpperCase()}`}, ${warehouse_id}, ${code}, ${pick_order})`;
}

async function setup(t: Test) {
  const s = await startServer(t);
  const api = s.client();
  await seedCatalogue(api);
  await bins(s, 'WH-A', [
    ['A-01', 0],
    ['A-02', 0],
    ['A-03', -1],
    ['RCV', 5],
  ]);
  await bins(s, 'WH-B', [['B-01', 0]]);
  return { s, api };
}

/** On hand per (location, batch) of an item in a warehouse, as the table holds it (zeros left out). */
async function at(s: TestServer, item_id: string, warehouse_id = 'WH-A') {
  const rows = await s.sql`
    SELECT location, batch, on_hand, quality_control, damaged FROM location_levels
    WHERE item_id = ${item_id} AND warehouse_id = ${warehouse_id} AND on_hand > 0 ORDER BY location, batch`;
  return Object.fromEntries(
    rows.map((r) => [
      r.batch === '' ? r.location : `${r.location}/${r.batch}`,
      r.quality_control > 0 || r.damaged > 0
        ? { on_hand: r.on_hand, quality_control: r.quality_control, damaged: r.damaged }
        : r.on_hand,
    ]),
  );
}

const linesOf = (move: StockMove) =>
  move.lines.map((l) => ({
    qty: l.qty,
    ...(l.batch !== undefined && { batch: l.batch }),
    ...(l.from_location !== undefined && { from: l.from_location }),
    ...(l.to_location !== undefined && { to: l.to_location }),
    ...(l.serials.length > 0 && { serials: l.serials }),
  }));

async function unchanged(s: TestServer) {
  await eventsDispatched(s.sql);
  const { idempotency_keys: _, ...tables } = await databaseFingerprint(s.sql);
  return tables;
}

async function invariantsHold(t: Test, s: TestServer) {
  t.same((await checkInvariants(s.sql)).violations, [], 'invariants hold (16: locations)');
}

function receipt(
  api: ApiClient,
  lines: components['schemas']['StockMoveLineInput'][],
  to_wh = 'WH-A',
) {
  return posted(api, { type: 'RECEIPT', to_wh, lines });
}

t.test('stock comes in where the line says, else by putaway, else at DEFAULT', async (t) => {
  const { s, api } = await setup(t);
  const first = await receipt(api, [
    { item_id: 'bolt', qty: 5 },
    { item_id: 'bolt', qty: 7, to_location: 'A-01' },
  ]);
  t.same(linesOf(first), [
    { qty: 5, to: 'DEFAULT' },
    { qty: 7, to: 'A-01' },
  ]);
  t.same(await at(s, 'bolt'), { 'A-01': 7, DEFAULT: 5 });

  // A putaway rule sends the item's stock to its location, unless that location is inactive.
  await s.sql`INSERT INTO putaway_rules (id, warehouse_id, item_id, location, created_by)
    VALUES ('put_1', 'WH-A', 'bolt', 'RCV', 'tester')`;
  t.same(linesOf(await receipt(api, [{ item_id: 'bolt', qty: 2 }])), [{ qty: 2, to: 'RCV' }]);
  await s.sql`UPDATE locations SET active = false WHERE code = 'RCV'`;
  t.same(linesOf(await receipt(api, [{ item_id: 'bolt', qty: 1 }])), [{ qty: 1, to: 'DEFAULT' }]);
  t.same(await at(s, 'bolt'), { 'A-01': 7, DEFAULT: 6, RCV: 2 });

  // Refusals: unknown or inactive location, a location on the wrong end of a line.
  const before = await unchanged(s);
  const bad = await postMove(api, {
    type: 'RECEIPT',
    to_wh: 'WH-A',
    lines: [
      { item_id: 'bolt', qty: 1, to_location: 'NOPE' },
      { item_id: 'bolt', qty: 1, to_location: 'RCV' },
      { item_id: 'bolt', qty: 1, from_location: 'A-01' },
      { item_id: 'bolt', qty: 1, to_location: 'B-01' },
    ],
  });
  t.equal(bad.response.status, 422);
  t.same(
    (bad.error as { errors: { pointer: string; code: string }[] }).errors.map((e) => [
      e.pointer,
      e.code,
    ]),
    [
      ['#/lines/0/to_location', 'unknown_location'],
      ['#/lines/1/to_location', 'inactive_location'],
      ['#/lines/2/from_location', 'not_allowed'],
      ['#/lines/3/to_location', 'unknown_location'],
    ],
  );
  t.same(await unchanged(s), before, 'a refused move changes nothing');
  await invariantsHold(t, s);
});

t.test('picking: pick_order, then code; the move shows one line per location taken', async (t) => {
  const { s, api } = await setup(t);
  await receipt(api, [
    { item_id: 'bolt', qty: 3, to_location: 'A-02' },
    { item_id: 'bolt', qty: 4, to_location: 'A-01' },
    { item_id: 'bolt', qty: 2, to_location: 'A-03' },
    { item_id: 'bolt', qty: 10 },
  ]);
  // A-03 first (pick_order -1), then A-01, A-02, DEFAULT (pick_order 0, by code).
  const issue = await posted(api, {
    type: 'ISSUE',
    from_wh: 'WH-A',
    lines: [{ item_id: 'bolt', qty: 8 }],
  });
  t.same(linesOf(issue), [
    { qty: 2, from: 'A-03' },
    { qty: 4, from: 'A-01' },
    { qty: 2, from: 'A-02' },
  ]);
  t.same(await at(s, 'bolt'), { 'A-02': 1, DEFAULT: 10 });

  // A transfer to another warehouse picks the same way and puts away at the other end.
  const transfer = await posted(api, {
    type: 'TRANSFER',
    from_wh: 'WH-A',
    to_wh: 'WH-B',
    lines: [{ item_id: 'bolt', qty: 3 }],
  });
  t.same(linesOf(transfer), [
    { qty: 1, from: 'A-02', to: 'DEFAULT' },
    { qty: 2, from: 'DEFAULT', to: 'DEFAULT' },
  ]);

  // A named location with too little: 409 naming it, though the warehouse has enough.
  const before = await unchanged(s);
  const short = await postMove(api, {
    type: 'ISSUE',
    from_wh: 'WH-A',
    lines: [{ item_id: 'bolt', qty: 2, from_location: 'A-01' }],
  });
  t.equal(short.response.status, 409);
  t.match(short.error, {
    type: 'https://problems.inventory-api.dev/over-issuance',
    item_id: 'bolt',
    warehouse_id: 'WH-A',
    location: 'A-01',
    requested: 2,
    available: 0,
  });
  t.same(await unchanged(s), before);
  await invariantsHold(t, s);
});

t.test('batches: FEFO first, then locations; a batch named is taken where it is', async (t) => {
  const { s, api } = await setup(t);
  await receipt(api, [
    {
      item_id: 'glue',
      qty: 5,
      batch: 'LATE',
      expires_at: '2031-01-01T00:00:00Z',
      to_location: 'A-01',
    },
    {
      item_id: 'glue',
      qty: 2,
      batch: 'EARLY',
      expires_at: '2029-01-01T00:00:00Z',
      to_location: 'A-02',
    },
    {
      item_id: 'glue',
      qty: 3,
      batch: 'EARLY',
      expires_at: '2029-01-01T00:00:00Z',
      to_location: 'A-01',
    },
  ]);
  const issue = await posted(api, {
    type: 'ISSUE',
    from_wh: 'WH-A',
    lines: [{ item_id: 'glue', qty: 7 }],
  });
  t.same(linesOf(issue), [
    { qty: 3, batch: 'EARLY', from: 'A-01' },
    { qty: 2, batch: 'EARLY', from: 'A-02' },
    { qty: 2, batch: 'LATE', from: 'A-01' },
  ]);
  t.same(await at(s, 'glue'), { 'A-01/LATE': 3 });
  await invariantsHold(t, s);
});

t.test('a transfer within one warehouse moves stock between two of its locations', async (t) => {
  const { s, api } = await setup(t);
  await receipt(api, [
    { item_id: 'bolt', qty: 4, to_location: 'A-01' },
    { item_id: 'bolt', qty: 6 },
  ]);
  const binMove: components['schemas']['StockMoveCreate'] = {
    type: 'TRANSFER',
    from_wh: 'WH-A',
    to_wh: 'WH-A',
    lines: [{ item_id: 'bolt', qty: 3, from_location: 'DEFAULT', to_location: 'A-02' }],
  };
  const move = await posted(api, binMove);
  t.same(linesOf(move), [{ qty: 3, from: 'DEFAULT', to: 'A-02' }]);
  t.same(await at(s, 'bolt'), { 'A-01': 4, 'A-02': 3, DEFAULT: 3 });
  // Its reversal puts the stock back where it came from.
  t.same(linesOf(ok(await reverse(api, move.id))), [{ qty: 3, from: 'A-02', to: 'DEFAULT' }]);
  t.same(await at(s, 'bolt'), { 'A-01': 4, DEFAULT: 6 });
  await posted(api, binMove);

  // Without from_location it picks, never from where the stock goes.
  const picked = await posted(api, {
    type: 'TRANSFER',
    from_wh: 'WH-A',
    to_wh: 'WH-A',
    lines: [{ item_id: 'bolt', qty: 6, to_location: 'A-01' }],
  });
  t.same(linesOf(picked), [
    { qty: 3, from: 'A-02', to: 'A-01' },
    { qty: 3, from: 'DEFAULT', to: 'A-01' },
  ]);
  t.same(await at(s, 'bolt'), { 'A-01': 10 });
  const { data } = await api.GET('/inventory/stock-levels', {
    params: { query: { item_id: 'bolt', warehouse_id: 'WH-A' } },
  });
  t.equal(data?.data[0].on_hand, 10, 'the warehouse level does not change');

  const before = await unchanged(s);
  for (const [line, expected] of [
    [
      { item_id: 'bolt', qty: 1, from_location: 'A-01', to_location: 'A-01' },
      [['#/lines/0/to_location', 'same_location']],
    ],
    [{ item_id: 'bolt', qty: 1, from_location: 'A-01' }, [['#/to_wh', 'same_warehouse']]],
  ] as const) {
    const res = await postMove(api, {
      type: 'TRANSFER',
      from_wh: 'WH-A',
      to_wh: 'WH-A',
      lines: [line],
    });
    t.equal(res.response.status, 422);
    t.same(
      (res.error as { errors: { pointer: string; code: string }[] }).errors.map((e) => [
        e.pointer,
        e.code,
      ]),
      expected,
    );
  }
  // Everything is at A-01 already: nothing elsewhere to bring there.
  const none = await postMove(api, {
    type: 'TRANSFER',
    from_wh: 'WH-A',
    to_wh: 'WH-A',
    lines: [{ item_id: 'bolt', qty: 1, to_location: 'A-01' }],
  });
  t.equal(none.response.status, 409);
  t.match(none.error, { type: /over-issuance$/, requested: 1, available: 0 });
  t.same(await unchanged(s), before, 'refusals change nothing');
  await invariantsHold(t, s);
});

t.test('serials are where they were put; a serial line splits by their locations', async (t) => {
  const { s, api } = await setup(t);
  await receipt(api, [
    { item_id: 'drill', qty: 2, serials: ['D1', 'D2'], to_location: 'A-01' },
    { item_id: 'drill', qty: 1, serials: ['D3'], to_location: 'A-02' },
  ]);
  const serials = await s.sql`SELECT serial, location FROM serials ORDER BY serial`;
  t.same(
    serials.map((r) => [r.serial, r.location]),
    [
      ['D1', 'A-01'],
      ['D2', 'A-01'],
      ['D3', 'A-02'],
    ],
  );
  const { data } = await api.GET('/inventory/serials', { params: { query: { item_id: 'drill' } } });
  t.same(
    data?.data.map((x) => x.location),
    ['A-01', 'A-01', 'A-02'],
  );

  const before = await unchanged(s);
  const wrong = await postMove(api, {
    type: 'ISSUE',
    from_wh: 'WH-A',
    lines: [{ item_id: 'drill', qty: 1, serials: ['D3'], from_location: 'A-01' }],
  });
  t.equal(wrong.response.status, 422);
  t.match(wrong.error, {
    errors: [{ pointer: '#/lines/0/serials/0', code: 'serial_not_in_stock', detail: /at A-02/ }],
  });
  t.same(await unchanged(s), before);

  const moved = await posted(api, {
    type: 'TRANSFER',
    from_wh: 'WH-A',
    to_wh: 'WH-B',
    lines: [{ item_id: 'drill', qty: 2, serials: ['D3', 'D1'], to_location: 'B-01' }],
  });
  t.same(linesOf(moved), [
    { qty: 1, from: 'A-01', to: 'B-01', serials: ['D1'] },
    { qty: 1, from: 'A-02', to: 'B-01', serials: ['D3'] },
  ]);
  t.same(
    (await s.sql`SELECT serial, warehouse_id, location FROM serials ORDER BY serial`).map((r) => [
      r.serial,
      r.warehouse_id,
      r.location,
    ]),
    [
      ['D1', 'WH-B', 'B-01'],
      ['D2', 'WH-A', 'A-01'],
      ['D3', 'WH-B', 'B-01'],
    ],
  );
  await invariantsHold(t, s);
});

t.test('status changes and counts at a location', async (t) => {
  const { s, api } = await setup(t);
  await receipt(api, [
    { item_id: 'bolt', qty: 5, to_location: 'A-01' },
    { item_id: 'bolt', qty: 5, to_location: 'A-02' },
  ]);
  const change = (lines: components['schemas']['StatusChangeLineInput'][]) =>
    api.POST('/inventory/status-changes', {
      params: { header: ik() },
      body: { warehouse_id: 'WH-A', reason: 'Inspection', lines },
    });
  const named = ok(
    await change([
      {
        item_id: 'bolt',
        qty: 2,
        from_state: 'unrestricted',
        to_state: 'damaged',
        from_location: 'A-02',
      },
    ]),
  );
  t.match(named.lines, [{ qty: 2, from_location: 'A-02' }]);
  // Without a location it picks (A-01 before A-02), one line per location changed.
  const picked = ok(
    await change([
      { item_id: 'bolt', qty: 6, from_state: 'unrestricted', to_state: 'quality_control' },
    ]),
  );
  t.match(picked.lines, [
    { qty: 5, from_location: 'A-01', to_state: 'quality_control' },
    { qty: 1, from_location: 'A-02', to_state: 'quality_control' },
  ]);
  t.same(await at(s, 'bolt'), {
    'A-01': { on_hand: 5, quality_control: 5, damaged: 0 },
    'A-02': { on_hand: 5, quality_control: 1, damaged: 2 },
  });

  const before = await unchanged(s);
  // The warehouse has 2 damaged (at A-02); A-01 has none.
  const short = await change([
    {
      item_id: 'bolt',
      qty: 1,
      from_state: 'damaged',
      to_state: 'unrestricted',
      from_location: 'A-01',
    },
  ]);
  t.equal(short.response.status, 409);
  t.match(short.error, {
    type: /insufficient-quantity$/,
    location: 'A-01',
    state: 'damaged',
    requested: 1,
    available: 0,
  });
  const unknown = await change([
    {
      item_id: 'bolt',
      qty: 1,
      from_state: 'damaged',
      to_state: 'unrestricted',
      from_location: 'ZZ',
    },
  ]);
  t.equal(unknown.response.status, 422);
  t.match(unknown.error, {
    errors: [{ pointer: '#/lines/0/from_location', code: 'unknown_location' }],
  });
  // A count at a location compares that location's figure.
  const miscounted = await postMove(api, {
    type: 'ADJUSTMENT',
    to_wh: 'WH-A',
    reason: 'Cycle count',
    lines: [{ item_id: 'bolt', qty: -1, from_location: 'A-01', expected_on_hand: 4 }],
  });
  t.equal(miscounted.response.status, 409);
  t.match(miscounted.error, { type: /count-mismatch$/, location: 'A-01', expected: 4, actual: 5 });
  t.same(await unchanged(s), before, 'refusals change nothing');

  // Held stock is never picked by an issue: A-01 has no unrestricted bolts left, A-02 two.
  const issue = await posted(api, {
    type: 'ISSUE',
    from_wh: 'WH-A',
    lines: [{ item_id: 'bolt', qty: 2 }],
  });
  t.same(linesOf(issue), [{ qty: 2, from: 'A-02' }]);
  await invariantsHold(t, s);
});

t.test(
  'receipts put away; their reversal and vendor returns take from where the goods are',
  async (t) => {
    const { s, api } = await setup(t);
    const po = await sentPo(api, {
      ship_to_warehouse_id: 'WH-A',
      lines: [{ item_id: 'bolt', qty: 10, unit_price: '1.00' }],
    });
    const line = po.lines[0];
    const rcpt = await receive(api, po, [
      { po_line_id: line.id, qty_received: 6, to_location: 'RCV' },
    ]);
    t.match(rcpt.lines, [{ to_location: 'RCV' }]);
    const { data: move } = await api.GET('/inventory/stock-moves/{id}', {
      params: { path: { id: rcpt.stock_move_id! } },
    });
    t.same(linesOf(move!), [{ qty: 6, to: 'RCV' }]);
    // Put away: RCV → A-01 (4 of them).
    await posted(api, {
      type: 'TRANSFER',
      from_wh: 'WH-A',
      to_wh: 'WH-A',
      lines: [{ item_id: 'bolt', qty: 4, from_location: 'RCV', to_location: 'A-01' }],
    });

    const returned = ok(
      await api.POST('/procurement/vendor-returns', {
        params: { header: ik() },
        body: {
          po_id: po.id,
          warehouse_id: 'WH-A',
          reason: 'Wrong finish',
          lines: [{ po_line_id: line.id, qty: 1, from_location: 'A-01' }],
        },
      }),
    );
    t.match(returned.lines, [{ from_location: 'A-01' }]);
    t.same(await at(s, 'bolt'), { 'A-01': 3, RCV: 2 });

    // The reversal of a second receipt picks: its goods were put away from DEFAULT, where it
    // left them, so it takes what comes first in picking order (A-01, by code).
    const second = await receive(api, po, [{ po_line_id: line.id, qty_received: 3 }]);
    await posted(api, {
      type: 'TRANSFER',
      from_wh: 'WH-A',
      to_wh: 'WH-A',
      lines: [{ item_id: 'bolt', qty: 3, from_location: 'DEFAULT', to_location: 'A-02' }],
    });
    const reversed = await api.POST('/procurement/receipts/{id}/reverse', {
      params: { path: { id: second.id }, header: { ...ik(), 'If-Match': second.etag } },
      body: {},
    });
    t.equal(reversed.response.status, 200, JSON.stringify(reversed.error));
    const { data: back } = await api.GET('/inventory/stock-moves/{id}', {
      params: { path: { id: reversed.data!.reversed_by_move! } },
    });
    t.same(linesOf(back!), [{ qty: 3, from: 'A-01' }]);
    t.same(await at(s, 'bolt'), { 'A-02': 3, RCV: 2 });
    await invariantsHold(t, s);
  },
);

t.test(
  '100 concurrent picks of one item over 5 locations take exactly what exists, each unit once',
  async (t) => {
    const { s, api } = await setup(t);
    await bins(s, 'WH-A', [
      ['P-1', 1],
      ['P-2', 1],
    ]);
    const stock: Record<string, number> = { 'A-01': 7, 'A-02': 8, 'A-03': 9, 'P-1': 10, 'P-2': 11 };
    await receipt(
      api,
      Object.entries(stock).map(([to_location, qty]) => ({ item_id: 'bolt', qty, to_location })),
    );
    const total = Object.values(stock).reduce((a, b) => a + b, 0);
    // Meanwhile stock moves between bins (from named bins, which the picks may have emptied).
    const [picks, shuffles] = await Promise.all([
      Promise.all(
        Array.from({ length: 100 }, () =>
          postMove(api, { type: 'ISSUE', from_wh: 'WH-A', lines: [{ item_id: 'bolt', qty: 1 }] }),
        ),
      ),
      Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          postMove(api, {
            type: 'TRANSFER',
            from_wh: 'WH-A',
            to_wh: 'WH-A',
            lines: [
              {
                item_id: 'bolt',
                qty: 1,
                from_location: Object.keys(stock)[i % 5],
                to_location: Object.keys(stock)[(i + 1) % 5],
              },
            ],
          }),
        ),
      ),
    ]);
    const statuses = [...picks, ...shuffles].map((r) => r.response.status);
    t.ok(
      statuses.every((x) => x === 201 || x === 409),
      `every answer 201 or 409 (got ${[...new Set(statuses)]})`,
    );
    const won = picks.filter((r) => r.response.status === 201);
    t.equal(won.length, total, `exactly ${total} picks got a unit`);
    for (const r of won) {
      t.equal(r.data!.lines.length, 1);
      t.equal(r.data!.lines[0].qty, 1);
    }
    t.same(await at(s, 'bolt'), {}, 'every location is empty');
    const taken = await s.sql`
    SELECT l.from_location, sum(l.qty)::int AS n FROM stock_move_lines l JOIN stock_moves m ON m.id = l.move_id
    WHERE m.type = 'ISSUE' GROUP BY 1 ORDER BY 1`;
    t.equal(
      taken.reduce((n, r) => n + r.n, 0),
      total,
      'the issues took each unit once, from the locations it was at',
    );
    await invariantsHold(t, s);
  },
);

t.test(
  'FEFO chooses among the batches a line can reach: at the location it names, or outside its destination',
  async (t) => {
    const { s, api } = await setup(t);
    await receipt(api, [
      {
        item_id: 'glue',
        qty: 10,
        batch: 'EARLY',
        expires_at: '2029-01-01T00:00:00Z',
        to_location: 'A-02',
      },
      {
        item_id: 'glue',
        qty: 10,
        batch: 'LATE',
        expires_at: '2031-01-01T00:00:00Z',
        to_location: 'RCV',
      },
    ]);
    // Put away what came in at the dock: the dock holds LATE only, though EARLY expires first.
    const putAway = await posted(api, {
      type: 'TRANSFER',
      from_wh: 'WH-A',
      to_wh: 'WH-A',
      lines: [{ item_id: 'glue', qty: 4, from_location: 'RCV', to_location: 'A-01' }],
    });
    t.same(linesOf(putAway), [{ qty: 4, batch: 'LATE', from: 'RCV', to: 'A-01' }]);
    // Bringing 3 to A-02 takes from elsewhere: EARLY is all at A-02 already.
    const toA02 = await posted(api, {
      type: 'TRANSFER',
      from_wh: 'WH-A',
      to_wh: 'WH-A',
      lines: [{ item_id: 'glue', qty: 3, to_location: 'A-02' }],
    });
    t.same(linesOf(toA02), [{ qty: 3, batch: 'LATE', from: 'A-01', to: 'A-02' }]);
    t.same(await at(s, 'glue'), {
      'A-01/LATE': 1,
      'A-02/EARLY': 10,
      'A-02/LATE': 3,
      'RCV/LATE': 6,
    });
    await invariantsHold(t, s);
  },
);

t.test('a serial already where a transfer within its warehouse puts it is refused', async (t) => {
  const { s, api } = await setup(t);
  await receipt(api, [{ item_id: 'drill', qty: 2, serials: ['D1', 'D2'], to_location: 'A-01' }]);
  const before = await unchanged(s);
  const res = await postMove(api, {
    type: 'TRANSFER',
    from_wh: 'WH-A',
    to_wh: 'WH-A',
    lines: [{ item_id: 'drill', qty: 1, serials: ['D2'], to_location: 'A-01' }],
  });
  t.equal(res.response.status, 422);
  t.match(res.error, { errors: [{ pointer: '#/lines/0/serials/0', code: 'same_location' }] });
  t.same(await unchanged(s), before);
});
