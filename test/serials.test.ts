// Serial-numbered stock: one serial per unit, each serial in at most one place (invariant 4).
import t from 'tap';
import { level, postMove, posted, startStockServer } from './helpers/stock.ts';

t.test(
  'a serial received twice, issued from the wrong warehouse or transferred while issued is refused',
  async (t) => {
    const { api } = await startStockServer(t, ['WH-A', 'WH-B'], { drill: 'SERIAL' });
    await posted(api, {
      type: 'RECEIPT',
      to_wh: 'WH-A',
      lines: [{ item_id: 'drill', qty: 2, serials: ['DR-0001', 'DR-0002'] }],
    });

    const codes = (r: Awaited<ReturnType<typeof postMove>>) =>
      r.error?.errors?.map((e) => [e.pointer, e.code]);
    const twice = await postMove(api, {
      type: 'RECEIPT',
      to_wh: 'WH-B',
      lines: [{ item_id: 'drill', qty: 2, serials: ['DR-0003', 'DR-0002'] }],
    });
    t.equal(twice.response.status, 422);
    t.same(
      codes(twice),
      [['#/lines/0/serials/1', 'serial_in_stock']],
      'received twice (into another warehouse)',
    );

    const wrongWarehouse = await postMove(api, {
      type: 'ISSUE',
      from_wh: 'WH-B',
      lines: [{ item_id: 'drill', qty: 1, serials: ['DR-0001'] }],
    });
    t.equal(wrongWarehouse.response.status, 409, 'WH-B has none at all: over-issuance comes first');
    await posted(api, {
      type: 'RECEIPT',
      to_wh: 'WH-B',
      lines: [{ item_id: 'drill', qty: 1, serials: ['DR-0100'] }],
    });
    const notThere = await postMove(api, {
      type: 'ISSUE',
      from_wh: 'WH-B',
      lines: [{ item_id: 'drill', qty: 1, serials: ['DR-0001'] }],
    });
    t.same(
      codes(notThere),
      [['#/lines/0/serials/0', 'serial_not_in_stock']],
      'issued from the wrong warehouse',
    );

    const issued = await posted(api, {
      type: 'ISSUE',
      from_wh: 'WH-A',
      lines: [{ item_id: 'drill', qty: 1, serials: ['DR-0001'] }],
    });
    t.same(issued.lines[0].serials, ['DR-0001']);
    const moveIssued = await postMove(api, {
      type: 'TRANSFER',
      from_wh: 'WH-A',
      to_wh: 'WH-B',
      lines: [{ item_id: 'drill', qty: 1, serials: ['DR-0001'] }],
    });
    t.same(
      codes(moveIssued),
      [['#/lines/0/serials/0', 'serial_not_in_stock']],
      'transferred while issued',
    );
    const unknown = await postMove(api, {
      type: 'ADJUSTMENT',
      to_wh: 'WH-A',
      reason: 'Lost',
      lines: [{ item_id: 'drill', qty: -1, serials: ['DR-9999'] }],
    });
    t.same(
      codes(unknown),
      [['#/lines/0/serials/0', 'serial_not_in_stock']],
      'an adjustment can only write off serials that are there',
    );

    const returned = await postMove(api, {
      type: 'RECEIPT',
      to_wh: 'WH-B',
      lines: [{ item_id: 'drill', qty: 1, serials: ['DR-0001'] }],
    });
    t.equal(returned.response.status, 201, 'an issued serial may come back');
    await posted(api, {
      type: 'TRANSFER',
      from_wh: 'WH-A',
      to_wh: 'WH-B',
      lines: [{ item_id: 'drill', qty: 1, serials: ['DR-0002'] }],
    });

    const serials = await api.GET('/inventory/serials', {
      params: { query: { item_id: 'drill' } },
    });
    t.same(
      serials.data?.data.map((x) => [x.serial, x.warehouse_id, x.status]),
      [
        ['DR-0001', 'WH-B', 'IN_STOCK'],
        ['DR-0002', 'WH-B', 'IN_STOCK'],
        ['DR-0100', 'WH-B', 'IN_STOCK'],
      ],
    );
    t.match(await level(api, 'drill', 'WH-A'), { on_hand: 0 });
    t.match(
      await level(api, 'drill', 'WH-B'),
      { on_hand: 3 },
      'on hand equals the serials in stock there',
    );
    await posted(api, {
      type: 'ISSUE',
      from_wh: 'WH-B',
      lines: [{ item_id: 'drill', qty: 1, serials: ['DR-0100'] }],
    });
    const issuedList = await api.GET('/inventory/serials', {
      params: { query: { status: 'ISSUED' } },
    });
    t.same(
      issuedList.data?.data.map((x) => [x.serial, x.warehouse_id]),
      [['DR-0100', null]],
    );
    const first = await api.GET('/inventory/serials', {
      params: { query: { warehouse_id: 'WH-B', limit: 1 } },
    });
    const second = await api.GET('/inventory/serials', {
      params: { query: { warehouse_id: 'WH-B', limit: 1, cursor: first.data!.page.next_cursor } },
    });
    t.same(
      [...first.data!.data, ...second.data!.data].map((x) => x.serial),
      ['DR-0001', 'DR-0002'],
      'paginated by (item, serial)',
    );
  },
);

t.test(
  'the same new serial received concurrently into different warehouses lands in exactly one',
  async (t) => {
    const warehouses = ['WH-A', 'WH-B', 'WH-C', 'WH-D'];
    const { s, api } = await startStockServer(t, warehouses, { drill: 'SERIAL' });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        postMove(api, {
          type: 'RECEIPT',
          to_wh: warehouses[i % 4],
          lines: [{ item_id: 'drill', qty: 1, serials: ['SN-1'] }],
        }),
      ),
    );
    const statuses = results.map((r) => r.response.status).sort();
    t.same(statuses, [201, ...Array(19).fill(422)], 'one receipt wins, the others see it in stock');
    const [{ on_hand }] =
      await s.sql`SELECT sum(on_hand) AS on_hand FROM stock_levels WHERE item_id = 'drill'`;
    t.equal(on_hand, 1);
    const rows =
      await s.sql`SELECT warehouse_id FROM serials WHERE item_id = 'drill' AND serial = 'SN-1' AND status = 'IN_STOCK'`;
    t.equal(rows.length, 1);
  },
);

// Two postings at once run as two group-commit batches side by side: the loser's write fails as a
// retryable conflict, and must be retried (not answered 500) however its error reaches the server.
t.test('two postings racing for one new serial: one 201, one 422, never a 500', async (t) => {
  const { api } = await startStockServer(t, ['WH-A', 'WH-B'], { drill: 'SERIAL' });
  const seen = new Map<string, number>();
  for (let i = 0; i < 30; i++) {
    const serials = [`SN-${i}`];
    const results = await Promise.all([
      postMove(api, {
        type: 'RECEIPT',
        to_wh: 'WH-A',
        lines: [{ item_id: 'drill', qty: 1, serials }],
      }),
      postMove(api, {
        type: 'ADJUSTMENT',
        to_wh: 'WH-B',
        reason: 'Found in a count',
        lines: [{ item_id: 'drill', qty: 1, serials }],
      }),
    ]);
    const statuses = results
      .map((r) => r.response.status)
      .sort()
      .join(' ');
    seen.set(statuses, (seen.get(statuses) ?? 0) + 1);
  }
  t.same(
    [...seen.keys()],
    ['201 422'],
    `outcomes over 30 races: ${JSON.stringify(Object.fromEntries(seen))}`,
  );
});
