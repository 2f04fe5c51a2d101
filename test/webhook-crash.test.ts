// Webhooks across real server processes (server/main.ts, as `npm start`) that are stopped mid-delivery:
// killed with SIGKILL between commit and delivery, or stopped gracefully with attempts in flight.
import t, { type Test } from 'tap';
import { freshDatabase } from './helpers/db.ts';
import { mintToken } from './helpers/auth.ts';
import { spawnServer } from './helpers/process.ts';
import { createItem, createWarehouses, postMove, posted } from './helpers/stock.ts';
import {
  acknowledgedIds,
  commitEvents,
  rolledBackEvent,
  startReceiver,
  subscribe,
  WEBHOOK_TEST_ENV,
} from './helpers/webhooks.ts';
import { waitFor } from './helpers/wait.ts';
import { createApiClient } from '../generated/client.ts';

/**
 * A server process on a fresh database with one endpoint whose receiver hangs until `recover()`,
 * so that when the server is stopped, attempts are in flight.
 */
async function serverWithHangingReceiver(t: Test) {
  const { url, sql } = await freshDatabase(t);
  let hang = true;
  const receiver = await startReceiver(t, () => (hang ? 'hang' : { status: 200 }));
  const server = await spawnServer(t, url, WEBHOOK_TEST_ENV);
  await subscribe(server.url, receiver);
  return { url, sql, receiver, server, recover: () => (hang = false) };
}

t.test(
  'SIGKILL between commit and delivery: after a restart every committed event arrives, none that rolled back',
  async (t) => {
    // When the server dies, attempts are in flight, deliveries pending and events waiting in the outbox.
    const { url, sql, receiver, server: first, recover } = await serverWithHangingReceiver(t);

    // Ten stock moves posted through the API, one refused (409: nothing commits), one event written
    // by a transaction that then rolled back.
    const api = createApiClient({ baseUrl: first.url, token: mintToken() });
    await createWarehouses(api, 'WH-A');
    await createItem(api, 'sku-1');
    const moves: string[] = [];
    for (let i = 0; i < 10; i++)
      moves.push(
        (
          await posted(api, {
            type: 'RECEIPT',
            to_wh: 'WH-A',
            lines: [{ item_id: 'sku-1', qty: 1 }],
          })
        ).id,
      );
    t.equal(
      (
        await postMove(api, {
          type: 'ISSUE',
          from_wh: 'WH-A',
          lines: [{ item_id: 'sku-1', qty: 11 }],
        })
      ).response.status,
      409,
    );
    const rolledBack = [await rolledBackEvent(sql)];
    const committed = (
      await sql`SELECT id FROM outbox WHERE payload->'data'->>'id' = ANY(${moves})`
    ).map((e) => e.id as string);
    t.equal(committed.length, 10, 'one event per posted move');
    await waitFor('attempts in flight', () => receiver.received.length > 0);
    await first.stop('SIGKILL');
    const states =
      await sql`SELECT status, count(*)::int AS n FROM webhook_deliveries GROUP BY status`;
    t.ok(states.length > 0, `killed with deliveries ${JSON.stringify(states)}`);

    // While it is down: more postings commit (written straight to the database), one rolls back.
    committed.push(...(await commitEvents(sql, 'inventory.stock_move.posted', 5)));
    rolledBack.push(await rolledBackEvent(sql));
    t.ok(
      (await sql`SELECT count(*)::int AS n FROM outbox WHERE dispatched_at IS NULL`)[0].n >= 5,
      'events not fanned out yet',
    );

    recover();
    const restarted = Date.now();
    await spawnServer(t, url, WEBHOOK_TEST_ENV);
    await waitFor(
      'every committed event acknowledged',
      () => committed.every((id) => acknowledgedIds(receiver).includes(id)),
      60_000,
    );
    t.comment(
      `all ${committed.length} delivered ${Date.now() - restarted} ms after the restart began (claims of the killed instance expire after 7 s)`,
    );
    t.notOk(
      receiver.received.some((r) => rolledBack.includes(String(r.headers['webhook-id']))),
      'nothing sent for rolled-back postings',
    );
    await waitFor(
      'all SUCCEEDED',
      async () =>
        (
          await sql`SELECT count(*)::int AS n FROM webhook_deliveries WHERE status <> 'SUCCEEDED'`
        )[0].n === 0,
      10_000,
    );
    const delivered = await sql`SELECT event_id FROM webhook_deliveries`;
    t.same(
      delivered.map((d) => d.event_id).sort(),
      [...committed].sort(),
      'one delivery per committed event',
    );
  },
);

t.test(
  'a graceful stop (SIGTERM) gives attempts in flight back, uncounted, for another instance',
  async (t) => {
    const { url, sql, receiver, server, recover } = await serverWithHangingReceiver(t);
    const [id] = await commitEvents(sql, 'inventory.stock_move.posted');
    await waitFor('the attempt in flight', () => receiver.received.length === 1);
    await server.stop('SIGTERM');
    const [delivery] =
      await sql`SELECT status, attempts, lease_token, next_attempt_at <= now() AS due FROM webhook_deliveries`;
    t.same(
      { ...delivery },
      { status: 'PENDING', attempts: 0, lease_token: null, due: true },
      'released, due now, the attempt not counted',
    );
    recover();
    await spawnServer(t, url, WEBHOOK_TEST_ENV);
    await waitFor(
      'delivered by the next instance',
      () => acknowledgedIds(receiver).includes(id),
      30_000,
    );
    t.pass('delivered');
  },
);
