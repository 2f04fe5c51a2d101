// Delivery is asynchronous: while receivers hang (holding every attempt until its 10 s deadline),
// postings and other API requests answer as fast as ever.
import t from 'tap';
import type { Sql } from '../db/client.ts';
import { inTransaction } from '../db/client.ts';
import { enqueueEvent } from '../db/outbox.ts';
import { startServer } from './helpers/server.ts';
import { startReceiver, waitFor } from './helpers/webhooks.ts';

t.test('a hanging receiver does not delay POST responses', async (t) => {
  let pool: Sql | undefined;
  const s = await startServer(t, {
    env: { WEBHOOK_TIMEOUT_S: '10', WEBHOOK_RETRY_SCHEDULE: '1' },
    // Until the posting endpoints exist: a route that commits an event the way a posting does.
    beforeListen: (app) => {
      app.post('/test/postings', async () => inTransaction(pool!, (tx) => enqueueEvent(tx, 'inventory.stock_move.posted', { test: true })));
    },
  });
  pool = s.sql;
  const receivers = await Promise.all([startReceiver(t, () => 'hang'), startReceiver(t, () => 'hang'), startReceiver(t, () => 'hang')]);
  for (const r of receivers) {
    const res = await s.client().POST('/webhooks/endpoints', { body: { url: r.url, events: ['inventory.stock_move.posted'] } });
    t.equal(res.response.status, 201);
  }

  const timed = async (path: string, json?: unknown) => {
    const started = performance.now();
    const res = await s.request(path, { method: 'POST', ...(json === undefined ? {} : { json }) });
    t.equal(res.status, path === '/test/postings' ? 200 : 201);
    return performance.now() - started;
  };
  const latencies: number[] = [await timed('/test/postings')];
  await waitFor('attempts hanging', () => receivers.every((r) => r.received.length > 0));
  for (let i = 0; i < 30; i++) latencies.push(await timed('/test/postings'));
  latencies.push(...(await Promise.all(Array.from({ length: 10 }, () => timed('/test/postings')))));
  latencies.push(await timed('/inventory/warehouses', { id: 'WH-A', name: 'Main' }));

  const inFlight = receivers.reduce((n, r) => n + r.received.filter((x) => x.answered === null).length, 0);
  t.ok(inFlight >= 3, `${inFlight} attempts were hanging meanwhile`);
  const worst = Math.max(...latencies);
  latencies.sort((a, b) => a - b);
  t.comment(`${latencies.length} POSTs while receivers hung: median ${latencies[latencies.length >> 1].toFixed(1)} ms, worst ${worst.toFixed(1)} ms`);
  t.ok(worst < 5000, 'no POST waited for a receiver (the hang lasts 10 s)');
  await waitFor('every event fanned out all the same', async () => (await s.sql`SELECT count(*)::int AS n FROM outbox WHERE dispatched_at IS NULL`)[0].n === 0, 5_000);
  t.pass('fan-out kept up all the same');
});
