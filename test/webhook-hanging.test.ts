// Delivery is asynchronous: while receivers hang (holding every attempt until its 10 s deadline),
// stock-move postings and other API requests answer as fast as ever.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { startServer } from './helpers/server.ts';
import { createItem, createWarehouses } from './helpers/stock.ts';
import { startReceiver, subscribe } from './helpers/webhooks.ts';
import { waitFor } from './helpers/wait.ts';

t.test('a hanging receiver does not delay POST responses', async (t) => {
  const s = await startServer(t, { env: { WEBHOOK_TIMEOUT_S: '10', WEBHOOK_RETRY_SCHEDULE: '1' } });
  await createWarehouses(s.client(), 'WH-A');
  await createItem(s.client(), 'sku-1');
  const receivers = await Promise.all([
    startReceiver(t, () => 'hang'),
    startReceiver(t, () => 'hang'),
    startReceiver(t, () => 'hang'),
  ]);
  for (const r of receivers) await subscribe(s.url, r);

  const timed = async (path: string, json: unknown, headers: Record<string, string> = {}) => {
    const started = performance.now();
    const res = await s.request(path, { method: 'POST', json, headers });
    t.equal(res.status, 201);
    return performance.now() - started;
  };
  const receive = () =>
    timed(
      '/inventory/stock-moves',
      { type: 'RECEIPT', to_wh: 'WH-A', lines: [{ item_id: 'sku-1', qty: 1 }] },
      { 'idempotency-key': randomUUID() },
    );
  const latencies: number[] = [await receive()];
  await waitFor('attempts hanging', () => receivers.every((r) => r.received.length > 0));
  for (let i = 0; i < 30; i++) latencies.push(await receive());
  latencies.push(...(await Promise.all(Array.from({ length: 10 }, receive))));
  latencies.push(await timed('/inventory/warehouses', { id: 'WH-B', name: 'Second' }));

  const inFlight = receivers.reduce(
    (n, r) => n + r.received.filter((x) => x.answered === null).length,
    0,
  );
  t.ok(inFlight >= 3, `${inFlight} attempts were hanging meanwhile`);
  const worst = Math.max(...latencies);
  latencies.sort((a, b) => a - b);
  t.comment(
    `${latencies.length} POSTs while receivers hung: median ${latencies[latencies.length >> 1].toFixed(1)} ms, worst ${worst.toFixed(1)} ms`,
  );
  t.ok(worst < 5000, 'no POST waited for a receiver (the hang lasts 10 s)');
  await waitFor(
    'every event fanned out all the same',
    async () =>
      (await s.sql`SELECT count(*)::int AS n FROM outbox WHERE dispatched_at IS NULL`)[0].n === 0,
    5_000,
  );
  t.pass('fan-out kept up all the same');
});
