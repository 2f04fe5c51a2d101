// Webhooks across real server processes (server/main.ts, as `npm start`) that are stopped mid-delivery:
// killed with SIGKILL between commit and delivery, or stopped gracefully with attempts in flight.
import t from 'tap';
import { freshDatabase } from './helpers/db.ts';
import { spawnServer } from './helpers/process.ts';
import { acknowledgedIds, commitEvents, rolledBackEvent, startReceiver, subscribe, waitFor, WEBHOOK_TEST_ENV } from './helpers/webhooks.ts';


t.test('SIGKILL between commit and delivery: after a restart every committed event arrives, none that rolled back', async (t) => {
  const { url, sql } = await freshDatabase(t);
  // The receiver hangs at first, so that when the server dies, attempts are in flight, deliveries
  // are pending and events are waiting in the outbox.
  let hang = true;
  const receiver = await startReceiver(t, () => (hang ? 'hang' : { status: 200 }));
  const first = await spawnServer(t, url, WEBHOOK_TEST_ENV);
  await subscribe(first.url, receiver);

  const committed = await commitEvents(sql, 'inventory.stock_move.posted', 10);
  const rolledBack = [await rolledBackEvent(sql)];
  await waitFor('attempts in flight', () => receiver.received.length > 0);
  await first.stop('SIGKILL');
  const states = await sql`SELECT status, count(*)::int AS n FROM webhook_deliveries GROUP BY status`;
  t.ok(states.length > 0, `killed with deliveries ${JSON.stringify(states)}`);

  // While it is down: more postings commit, one rolls back.
  committed.push(...(await commitEvents(sql, 'inventory.stock_move.posted', 5)));
  rolledBack.push(await rolledBackEvent(sql));
  t.ok((await sql`SELECT count(*)::int AS n FROM outbox WHERE dispatched_at IS NULL`)[0].n >= 5, 'events not fanned out yet');

  hang = false;
  const restarted = Date.now();
  await spawnServer(t, url, WEBHOOK_TEST_ENV);
  await waitFor('every committed event acknowledged', () => committed.every((id) => acknowledgedIds(receiver).includes(id)), 60_000);
  t.comment(`all ${committed.length} delivered ${Date.now() - restarted} ms after the restart began (claims of the killed instance expire after 7 s)`);
  t.notOk(receiver.received.some((r) => rolledBack.includes(String(r.headers['webhook-id']))), 'nothing sent for rolled-back postings');
  await waitFor('all SUCCEEDED', async () => (await sql`SELECT count(*)::int AS n FROM webhook_deliveries WHERE status <> 'SUCCEEDED'`)[0].n === 0, 10_000);
  const delivered = await sql`SELECT event_id FROM webhook_deliveries`;
  t.same(delivered.map((d) => d.event_id).sort(), [...committed].sort(), 'one delivery per committed event');
});

t.test('a graceful stop (SIGTERM) gives attempts in flight back, uncounted, for another instance', async (t) => {
  const { url, sql } = await freshDatabase(t);
  let hang = true;
  const receiver = await startReceiver(t, () => (hang ? 'hang' : { status: 200 }));
  const server = await spawnServer(t, url, WEBHOOK_TEST_ENV);
  await subscribe(server.url, receiver);
  const [id] = await commitEvents(sql, 'inventory.stock_move.posted');
  await waitFor('the attempt in flight', () => receiver.received.length === 1);
  await server.stop('SIGTERM');
  const [delivery] = await sql`SELECT status, attempts, lease_token, next_attempt_at <= now() AS due FROM webhook_deliveries`;
  t.same({ ...delivery }, { status: 'PENDING', attempts: 0, lease_token: null, due: true }, 'released, due now, the attempt not counted');
  hang = false;
  await spawnServer(t, url, WEBHOOK_TEST_ENV);
  await waitFor('delivered by the next instance', () => acknowledgedIds(receiver).includes(id), 30_000);
  t.pass('delivered');
});
