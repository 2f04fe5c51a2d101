// Webhooks across a PostgreSQL restart: the dispatcher's LISTEN connection comes back by itself,
// so events committed after the restart are delivered promptly (not only at the next poll), and
// every event is delivered exactly once across it. Own cluster, since the shared test cluster
// can't be stopped.
import t from 'tap';
import { join } from 'node:path';
import { createSql } from '../../db/client.ts';
import { removeCluster, startEmbeddedPostgres, REPO_ROOT } from '../../db/embedded.ts';
import { urlForDatabase } from '../helpers/db.ts';
import { spawnServer } from '../helpers/process.ts';
import {
  acknowledgedIds,
  commitEvents,
  startReceiver,
  subscribe,
  WEBHOOK_TEST_ENV,
} from '../helpers/webhooks.ts';
import { waitFor } from '../helpers/wait.ts';

t.test('PostgreSQL restarts: nothing is lost and notifications resume', async (t) => {
  const dataDir = join(REPO_ROOT, '.data', `chaos-webhooks-pg-${process.pid}`);
  let cluster = await startEmbeddedPostgres({ dataDir, persistent: true });
  const port = Number(new URL(cluster.url).port);
  t.teardown(async () => {
    await cluster.stop();
    await removeCluster(dataDir);
  });
  const admin = createSql(cluster.url, { max: 1 });
  await admin`CREATE DATABASE webhooks`;
  await admin.end();
  const url = urlForDatabase(cluster.url, 'webhooks');

  // The poll is 60 s: prompt delivery after the restart must come from the re-established LISTEN.
  const server = await spawnServer(t, url, { ...WEBHOOK_TEST_ENV, WEBHOOK_POLL_S: '60' });
  const receiver = await startReceiver(t);
  await subscribe(server.url, receiver);
  const sql = createSql(url, { max: 2 });
  t.teardown(() => sql.end({ timeout: 1 }));

  const before = await commitEvents(sql, 'inventory.stock_move.posted', 3);
  await waitFor('the events before the restart', () =>
    before.every((id) => acknowledgedIds(receiver).includes(id)),
  );

  await cluster.stop();
  await new Promise((r) => setTimeout(r, 1500));
  t.equal(server.child.exitCode, null, 'the server survives the outage', {
    output: server.output().slice(-4000),
  });
  cluster = await startEmbeddedPostgres({ dataDir, persistent: true, port });
  const back = Date.now();

  const after = await waitFor(
    'a commit after the restart',
    () => commitEvents(sql, 'inventory.stock_move.posted', 3).catch(() => null),
    30_000,
  );
  await waitFor(
    'the events after the restart',
    () => after.every((id) => acknowledgedIds(receiver).includes(id)),
    20_000,
  );
  t.comment(`delivered ${Date.now() - back} ms after PostgreSQL was back`);
  t.same(acknowledgedIds(receiver).sort(), [...before, ...after].sort(), 'every event once');
});
