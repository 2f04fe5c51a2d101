// Two server processes (server/main.ts, as `npm start`) sharing one database and one outbox.
import t from 'tap';
import { msUntilNextDue } from '../db/webhook-dispatch.ts';
import { freshDatabase } from './helpers/db.ts';
import { spawnServer, type ServerProcess } from './helpers/process.ts';
import {
  acknowledgedIds,
  commitEvents,
  startReceiver,
  subscribe,
  WEBHOOK_TEST_ENV,
} from './helpers/webhooks.ts';
import { waitFor } from './helpers/wait.ts';

t.test('two instances deliver each event exactly once per endpoint', async (t) => {
  const { url, sql } = await freshDatabase(t);
  const [x, y] = await Promise.all([startReceiver(t), startReceiver(t)]);
  const [a, b] = await Promise.all([
    spawnServer(t, url, WEBHOOK_TEST_ENV),
    spawnServer(t, url, WEBHOOK_TEST_ENV),
  ]);
  await subscribe(a.url, x);
  await subscribe(b.url, y);

  // Postings committed concurrently, as several API instances would.
  const batches = await Promise.all(
    Array.from({ length: 4 }, () => commitEvents(sql, 'inventory.stock_move.posted', 25)),
  );
  const events = batches.flat();
  await waitFor(
    'every event at both receivers',
    () => x.received.length >= events.length && y.received.length >= events.length,
    60_000,
  );
  await new Promise((r) => setTimeout(r, 500)); // time for a duplicate to show up, were there one
  for (const receiver of [x, y]) {
    t.equal(receiver.received.length, events.length, 'no duplicates');
    t.same(acknowledgedIds(receiver).sort(), [...events].sort(), 'every event once');
  }
  const sent = async (server: ServerProcess) => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    return Number(
      /webhook_attempt_duration_seconds_count\{outcome="succeeded"\} (\d+)/.exec(text)?.[1] ?? 0,
    );
  };
  const [byA, byB] = await waitFor(
    'both instances counted their attempts',
    async () => {
      const counts = await Promise.all([sent(a), sent(b)]);
      return counts[0] + counts[1] >= 2 * events.length && counts;
    },
    5_000,
  );
  t.equal(
    byA + byB,
    2 * events.length,
    `successful attempts per instance: ${byA} and ${byB}, none repeated`,
  );
});

t.test(
  'an idle dispatcher sleeps: with nothing it can deliver it barely touches the database',
  async (t) => {
    const { url, sql } = await freshDatabase(t);
    t.equal(
      await msUntilNextDue(sql),
      null,
      'no pending delivery means no due time, not "due now"',
    );
    // A PENDING delivery of a disabled endpoint can't be claimed, so it must not read as due either.
    await sql`INSERT INTO webhook_endpoints (id, url, events, secret, active) VALUES ('we_off', 'https://example.com/hook', ${['inventory.stock_move.posted']}, 'whsec_x', false)`;
    // Dispatched and positioned, as a fan-out leaves it.
    await sql`
      WITH e AS (
        INSERT INTO outbox (id, type, payload, dispatched_at, position)
        SELECT 'evt_off', 'inventory.stock_move.posted', '{}', now(), last_position + 1 FROM feed_state)
      UPDATE feed_state SET last_position = last_position + 1`;
    await sql`INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type) VALUES ('whd_off', 'we_off', 'evt_off', 'inventory.stock_move.posted')`;
    t.equal(
      await msUntilNextDue(sql),
      null,
      'a pending delivery of a disabled endpoint is not due',
    );

    await spawnServer(t, url, WEBHOOK_TEST_ENV);
    const [{ datname }] = await sql`SELECT current_database() AS datname`;
    const transactions = async () => {
      const [row] =
        await sql`SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = ${datname}`;
      return Number(row.n);
    };
    await new Promise((r) => setTimeout(r, 500));
    const before = await transactions();
    await new Promise((r) => setTimeout(r, 2_500));
    // Per poll (1 s here): a fan-out, a claim and a look at the next due time; plus our own queries.
    // Statistics are flushed at most once a second, so allow some slack, far below a busy loop's hundreds.
    const used = (await transactions()) - before;
    t.ok(used < 40, `${used} transactions in 2.5 s`);
  },
);
