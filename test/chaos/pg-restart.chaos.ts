// PostgreSQL restart mid-load: while it is down, requests fail cleanly with 503
// problem+json and /readyz says so; when it is back the server recovers by itself; nothing
// acknowledged is lost. Uses a cluster of its own, since the shared test cluster can't be stopped.
import t from 'tap';
import { join } from 'node:path';
import { createSql } from '../../db/client.ts';
import { removeCluster, startEmbeddedPostgres, REPO_ROOT } from '../../db/embedded.ts';
import { urlForDatabase } from '../helpers/db.ts';
import { spawnServer } from '../helpers/process.ts';
import { mintToken } from '../helpers/auth.ts';
import { runLoad } from './load.ts';
import { verifyAfterChaos } from './verify.ts';
import { ITEMS, seedChaos } from './seed.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('PostgreSQL stops and comes back mid-load', async (t) => {
  const dataDir = join(REPO_ROOT, '.data', `chaos-pg-${process.pid}`);
  let cluster = await startEmbeddedPostgres({ dataDir, persistent: true });
  const port = Number(new URL(cluster.url).port);
  t.teardown(async () => {
    await cluster.stop();
    await removeCluster(dataDir);
  });
  const admin = createSql(cluster.url, { max: 1 });
  await admin`CREATE DATABASE chaos`;
  await admin.end();
  const databaseUrl = urlForDatabase(cluster.url, 'chaos');

  // The quota out of the way: the load would use it up before the outage, and the writes probed
  // while PostgreSQL is down would be answered 429 instead of the 503 under test.
  const server = await spawnServer(t, databaseUrl, { RATE_LIMIT_MAX: '1000000' });
  const token = mintToken({ expiresIn: 3600 });
  const catalogue = await seedChaos(server.url, token);
  const ready = () =>
    fetch(`${server.url}/readyz`, { signal: AbortSignal.timeout(5000) }).then(
      (r) => r.status,
      () => 0,
    );
  const log = (m: string) => console.error(`# ${new Date().toISOString()} ${m}`);

  const observed = { readyzDown: 0, problem503: 0, recoveredInMs: 0 };
  const controller = (async () => {
    await sleep(2000);
    log('stopping PostgreSQL');
    await cluster.stop();
    log('stopped');
    await sleep(1000);
    if (server.child.exitCode !== null) throw new Error(`the server died:\n${server.output()}`);
    for (let i = 0; i < 6; i++) {
      await sleep(400);
      const t0 = Date.now();
      const readyStatus = await ready();
      log(`readyz ${readyStatus} in ${Date.now() - t0} ms`);
      if (readyStatus === 503) observed.readyzDown++;
      const res = await fetch(`${server.url}/inventory/stock-moves`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'idempotency-key': `while-down-${i}`,
        },
        body: JSON.stringify({
          type: 'RECEIPT',
          to_wh: 'WH-A',
          lines: [{ item_id: ITEMS[0], qty: 1 }],
        }),
        signal: AbortSignal.timeout(10_000),
      });
      log(`write while down: ${res.status}`);
      const body = await res.json();
      if (
        res.status === 503 &&
        /^application\/problem\+json/.test(res.headers.get('content-type') ?? '') &&
        body.type.endsWith('/service-unavailable')
      )
        observed.problem503++;
    }
    log('starting PostgreSQL');
    cluster = await startEmbeddedPostgres({ dataDir, persistent: true, port });
    log('started');
    const back = Date.now();
    while ((await ready()) !== 200) {
      if (Date.now() - back > 30_000)
        throw new Error(`the server did not recover within 30 s:\n${server.output().slice(-3000)}`);
      await sleep(100);
    }
    observed.recoveredInMs = Date.now() - back;
    await sleep(2000);
  })();
  const { attempted, stats } = await runLoad({
    target: () => server.url,
    token,
    clients: 12,
    until: controller,
    ...catalogue,
  });
  await controller;

  t.ok(observed.readyzDown > 0, '/readyz answered 503 while the database was down');
  t.equal(observed.problem503, 6, 'every write while it was down was a 503 problem+json');
  t.ok((stats.serverErrors[503] ?? 0) > 0, 'load clients saw 503s too');
  t.comment(`recovered ${observed.recoveredInMs} ms after PostgreSQL was back`);
  const sql = createSql(databaseUrl, { max: 2 });
  t.teardown(() => sql.end());
  await verifyAfterChaos(t, sql, attempted, stats, 'PostgreSQL stopped for ~2.5 s and restarted');
});
