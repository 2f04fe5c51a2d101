// Invariants 1 and 2 (docs/invariants.md) under concurrent requests: stock is never oversold or
// over-reserved, and opposite transfers neither deadlock into a 500 nor lose stock.
import t from 'tap';
import { writeLedger, type LedgerWrites } from '../db/ledger.ts';
import { freshDatabase } from './helpers/db.ts';
import { checkInvariants } from '../scripts/lib/invariants.ts';
import { level, postMove, posted, reserve, startStockServer } from './helpers/stock.ts';
import { waitFor } from './helpers/wait.ts';

const count = (statuses: number[]) =>
  Object.fromEntries(
    [...new Set(statuses)].sort().map((s) => [s, statuses.filter((x) => x === s).length]),
  );

t.test('100 concurrent ISSUEs of 1 against 50 on hand: exactly 50 succeed', async (t) => {
  const { s, api } = await startStockServer(t, ['WH-A'], { 'sku-1': 'NONE' });
  await posted(api, { type: 'RECEIPT', to_wh: 'WH-A', lines: [{ item_id: 'sku-1', qty: 50 }] });

  const started = Date.now();
  const results = await Promise.all(
    Array.from({ length: 100 }, () =>
      postMove(api, { type: 'ISSUE', from_wh: 'WH-A', lines: [{ item_id: 'sku-1', qty: 1 }] }),
    ),
  );
  t.comment(`100 concurrent issues took ${Date.now() - started} ms`);
  t.same(count(results.map((r) => r.response.status)), { 201: 50, 409: 50 });
  t.ok(
    results
      .filter((r) => r.response.status === 409)
      .every((r) => r.error?.type?.endsWith('/over-issuance')),
  );
  t.match(await level(api, 'sku-1', 'WH-A'), { on_hand: 0, available: 0 });
  t.same(
    (await checkInvariants(s.sql)).violations,
    [],
    'on hand equals the ledger; one event and audit entry per posting',
  );
  const [{ events }] =
    await s.sql`SELECT count(*) AS events FROM outbox WHERE type = 'inventory.stock_move.posted'`;
  t.equal(events, 51, 'one event per posting (50 issues and the receipt)');
});

t.test('100 concurrent reservations of 1 against 50 available: exactly 50 succeed', async (t) => {
  const { s, api } = await startStockServer(t, ['WH-A'], { 'sku-1': 'NONE' });
  await posted(api, { type: 'RECEIPT', to_wh: 'WH-A', lines: [{ item_id: 'sku-1', qty: 60 }] });
  await posted(api, { type: 'ISSUE', from_wh: 'WH-A', lines: [{ item_id: 'sku-1', qty: 10 }] });

  const started = Date.now();
  const results = await Promise.all(
    Array.from({ length: 100 }, () =>
      reserve(api, { item_id: 'sku-1', warehouse_id: 'WH-A', qty: 1 }),
    ),
  );
  t.comment(`100 concurrent reservations took ${Date.now() - started} ms`);
  t.same(count(results.map((r) => r.response.status)), { 201: 50, 409: 50 });
  t.ok(
    results
      .filter((r) => r.response.status === 409)
      .every((r) => r.error?.type?.endsWith('/insufficient-available')),
  );
  t.match(await level(api, 'sku-1', 'WH-A'), { on_hand: 50, reserved: 50, available: 0 });
  t.same(
    (await checkInvariants(s.sql)).violations,
    [],
    'reserved is the sum of the ACTIVE reservations',
  );
});

t.test(
  'concurrent TRANSFERs A→B and B→A of the same items never fail with a 500 and conserve stock',
  async (t) => {
    const items = ['sku-1', 'sku-2', 'sku-3'];
    const { s, api } = await startStockServer(
      t,
      ['WH-A', 'WH-B'],
      Object.fromEntries(items.map((i) => [i, 'NONE'])),
    );
    for (const wh of ['WH-A', 'WH-B'])
      await posted(api, {
        type: 'RECEIPT',
        to_wh: wh,
        lines: items.map((item_id) => ({ item_id, qty: 12 })),
      });

    // Lines in varying order, so that locking in line order would deadlock.
    const transfer = (i: number) => {
      const [from_wh, to_wh] = i % 2 ? ['WH-A', 'WH-B'] : ['WH-B', 'WH-A'];
      const lines = items.map((item_id, j) => ({ item_id, qty: 1 + ((i + j) % 5) }));
      return postMove(api, {
        type: 'TRANSFER',
        from_wh,
        to_wh,
        lines: i % 3 ? lines : lines.reverse(),
      });
    };
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => transfer(i)));
    t.comment(
      `100 concurrent transfers took ${Date.now() - started} ms: ${JSON.stringify(count(results.map((r) => r.response.status)))}`,
    );
    t.ok(
      results.every((r) => r.response.status === 201 || r.response.status === 409),
      'every transfer posted or was refused for stock',
    );
    t.ok(results.some((r) => r.response.status === 201));
    const totals =
      await s.sql`SELECT item_id, sum(on_hand) AS total FROM stock_levels GROUP BY item_id ORDER BY item_id`;
    t.same(
      totals.map((r) => [r.item_id, r.total]),
      items.map((i) => [i, 24]),
      'the total across warehouses is conserved',
    );
    t.same((await checkInvariants(s.sql)).violations, []);
  },
);

t.test(
  'a level that appeared after planning fails the write as retryable, never receives a delta planned against nothing',
  async (t) => {
    const { sql } = await freshDatabase(t);
    await sql`INSERT INTO warehouses (id, name) VALUES ('WH-A', 'A')`;
    await sql`INSERT INTO items (id, sku, name, uom, track_by) VALUES ('sku-1', 'SKU-1', 'One', 'EA', 'BATCH')`;
    // Created by another transaction between this one's load (which found no row) and its write.
    await sql`INSERT INTO stock_levels (item_id, warehouse_id, on_hand) VALUES ('sku-1', 'WH-A', 3)`;
    await sql`INSERT INTO batch_levels (item_id, warehouse_id, batch, on_hand) VALUES ('sku-1', 'WH-A', 'L1', 3)`;
    const nothing: LedgerWrites = {
      moves: [],
      lines: [],
      levels: [],
      batches: [],
      serials: [],
      consumed: [],
      reversed: [],
      events: [],
      audits: [],
    };
    const key = { item_id: 'sku-1', warehouse_id: 'WH-A' };
    await t.rejects(
      sql.begin((tx) =>
        writeLedger(tx, {
          ...nothing,
          levels: [
            {
              ...key,
              on_hand: '5',
              reserved: '0',
              quality_control: '0',
              damaged: '0',
              exists: false,
              updated_at: '2026-01-01T00:00:00.000Z',
            },
          ],
        }),
      ),
      { code: '40001' },
      'stock level',
    );
    await t.rejects(
      sql.begin((tx) =>
        writeLedger(tx, {
          ...nothing,
          batches: [
            {
              ...key,
              batch: 'L1',
              on_hand: '5',
              quality_control: '0',
              damaged: '0',
              expires_at: null,
              exists: false,
            },
          ],
        }),
      ),
      { code: '40001' },
      'batch level',
    );
    const [levels] =
      await sql`SELECT (SELECT on_hand FROM stock_levels) AS level, (SELECT on_hand FROM batch_levels) AS batch`;
    t.strictSame([Number(levels.level), Number(levels.batch)], [3, 3], 'nothing added');
  },
);

t.test(
  'a full posting queue refuses a posting at once with 503 overloaded; retried with its key, it posts once',
  async (t) => {
    // One batch at a time and no room to wait: a posting that arrives while a batch runs is refused.
    const { s, api } = await startStockServer(
      t,
      ['WH-A'],
      { 'sku-1': 'NONE' },
      {
        env: { POSTING_BATCHES_IN_FLIGHT: '1', POSTING_QUEUE_MAX: '0' },
      },
    );
    await posted(api, { type: 'RECEIPT', to_wh: 'WH-A', lines: [{ item_id: 'sku-1', qty: 10 }] });
    const issue = {
      type: 'ISSUE' as const,
      from_wh: 'WH-A',
      lines: [{ item_id: 'sku-1', qty: 1 }],
    };

    // Another session holds the stock level, so the first posting's batch waits for it.
    const holder = await s.sql.reserve();
    t.teardown(() => holder.release());
    await holder`BEGIN`;
    await holder`SELECT 1 FROM stock_levels WHERE item_id = 'sku-1' FOR UPDATE`;
    const first = postMove(api, issue, 'first');
    await waitFor(
      'the first posting to wait for the stock level',
      async () =>
        (
          await s.sql`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%stock_levels%'`
        ).length === 1,
    );

    const refused = await postMove(api, issue, 'second');
    t.equal(refused.response.status, 503, 'the second is refused while the batch runs');
    t.equal(refused.error?.type, 'https://problems.inventory-api.dev/overloaded');
    t.equal(refused.response.headers.get('retry-after'), '1');
    t.equal(
      refused.response.headers.get('content-type'),
      'application/problem+json; charset=utf-8',
    );

    await holder`COMMIT`;
    t.equal((await first).response.status, 201, 'the first posts once the level is free');
    const retried = await postMove(api, issue, 'second');
    t.equal(retried.response.status, 201, 'the refused one, retried with its key, posts');
    t.equal(retried.response.headers.get('idempotent-replayed'), null, 'as a first execution');
    t.match(await level(api, 'sku-1', 'WH-A'), { on_hand: 8 }, 'two issued, once each');
    t.same((await checkInvariants(s.sql)).violations, []);
  },
);
