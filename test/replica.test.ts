// Lists read on a PostgreSQL streaming replica (DATABASE_REPLICA_URL; docs/deploy.md, "Read
// replicas for lists"): a real Debian PostgreSQL primary and hot standby, started here, and the
// real server process (server/main.ts) on them. With the standby's replay paused, what is written
// is on a single GET (the primary) but not yet in the list (the standby), proving where lists are
// read; writes keep working while replay is paused and while the standby is down; a list while it
// is down is read on the primary; a list item's ETag sent back while the standby lags gets the
// documented 412; a standby lagging more than DATABASE_REPLICA_MAX_LAG_MS serves no lists.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../db/embedded.ts';
import { loadConfig, replicaUrls, repoRoot } from '../server/config.ts';
import { ALL_SCOPES, mintToken } from './helpers/auth.ts';
import { spawnServer, type ServerProcess } from './helpers/process.ts';
import { POSTGRES_HINT, startReplicatedClusters } from './helpers/replication.ts';
import { missingTool } from './helpers/tools.ts';
import { waitFor } from './helpers/wait.ts';

const token = mintToken({ scope: ALL_SCOPES, expiresIn: 3600 });

function api(server: ServerProcess) {
  return async (path: string, init: { method?: string; json?: unknown; headers?: object } = {}) => {
    const res = await fetch(server.url + path, {
      method: init.method ?? 'GET',
      headers: {
        authorization: `Bearer ${token}`,
        ...(init.json === undefined ? {} : { 'content-type': 'application/json' }),
        ...init.headers,
      },
      body: init.json === undefined ? undefined : JSON.stringify(init.json),
    });
    const text = await res.text();
    return {
      status: res.status,
      etag: res.headers.get('etag'),
      body: text ? JSON.parse(text) : null,
    };
  };
}

/** The server's db_list_reads_total by target, from /metrics. */
async function listReads(server: ServerProcess): Promise<{ replica: number; primary: number }> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const count = (target: string) =>
    Number(
      new RegExp(`^db_list_reads_total\\{target="${target}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0,
    );
  return { replica: count('replica'), primary: count('primary') };
}

t.test(
  'DATABASE_REPLICA_URL: one URL per host, credentials, database and parameters kept',
  async (t) => {
    t.strictSame(replicaUrls(undefined), [], 'unset: no replica');
    t.strictSame(replicaUrls(''), [], 'empty: no replica');
    t.strictSame(
      replicaUrls('postgres://api:s%40cret@r1:5433,r2,[::1]:5434/inventory?sslmode=require'),
      [
        'postgres://api:s%40cret@r1:5433/inventory?sslmode=require',
        'postgres://api:s%40cret@r2/inventory?sslmode=require',
        'postgres://api:s%40cret@[::1]:5434/inventory?sslmode=require',
      ],
    );
    t.strictSame(replicaUrls('postgresql://r1/db'), ['postgresql://r1/db'], 'no credentials');
    t.throws(() => replicaUrls('r1:5432'), /DATABASE_REPLICA_URL must be a postgres:\/\/ URL/);
    t.throws(() => replicaUrls('postgres://api@/db'), /DATABASE_REPLICA_URL/, 'no host');
    t.equal(loadConfig({}).databaseReplicaMaxLagMs, undefined, 'no lag limit by default');
    t.equal(loadConfig({ DATABASE_REPLICA_MAX_LAG_MS: '5000' }).databaseReplicaMaxLagMs, 5000);
    t.throws(
      () => loadConfig({ DATABASE_REPLICA_MAX_LAG_MS: 'soon' }),
      /DATABASE_REPLICA_MAX_LAG_MS/,
    );
  },
);

t.test('the docs tell operators and clients what replicas change', async (t) => {
  const read = (file: string) => readFileSync(join(repoRoot, file), 'utf8');
  const deploy = read('docs/deploy.md').split('## Read replicas for lists')[1]?.split('\n## ')[0];
  t.ok(deploy, 'docs/deploy.md has a section "Read replicas for lists"');
  t.match(deploy, /The staleness a client may see/, 'saying what staleness a client may see');
  t.match(deploy, /412 `precondition-failed`/, "and that a list item's stale ETag gets 412");
  t.match(deploy, /Re-read the resource/, 'and that the client re-reads it');
  t.match(deploy, /`DATABASE_REPLICA_MAX_LAG_MS`/, 'and what bounds the lag');
  const readme = read('README.md').split('## Configuration')[1];
  t.match(
    readme,
    /^\| `DATABASE_REPLICA_URL` \|/m,
    "the README's configuration table has DATABASE_REPLICA_URL",
  );
});

t.test('lists on a streaming replica', async (t) => {
  const clusters = await startReplicatedClusters(t, 'inventory');
  if (!clusters) return missingTool(t, POSTGRES_HINT);
  const { primary, standby } = clusters;
  // Two replica hosts: one where nothing listens (never fit, so never chosen) and the standby.
  const nowhere = await freePort();
  const replicaUrl = new URL(standby.url);
  const replicas = `postgres://postgres@127.0.0.1:${nowhere},127.0.0.1:${standby.port}${replicaUrl.pathname}`;
  const server = await spawnServer(t, primary.url, {
    DATABASE_REPLICA_URL: replicas,
    RATE_LIMIT_MAX: '1000000',
  });
  const call = api(server);
  const vendor = (name: string) =>
    call('/procurement/vendors', {
      method: 'POST',
      json: { name, currency: 'EUR' },
      headers: { 'idempotency-key': crypto.randomUUID() },
    });
  const listed = async () => {
    const res = await call('/procurement/vendors?limit=100');
    if (res.status !== 200)
      throw new Error(`list answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body as {
      data: { id: string; name: string; etag: string }[];
      page: { events_after: string };
    };
  };
  const has = async (id: string) => (await listed()).data.some((v) => v.id === id);

  const first = await vendor('Replicated');
  t.equal(first.status, 201, 'a write goes to the primary');
  await waitFor('the list to show the vendor', () => has(first.body.id));
  await waitFor('a list read on the replica', async () => (await listReads(server)).replica > 0);
  t.pass(
    'lists are read on the standby once its probe finds it fit (the host where nothing listens is skipped)',
  );

  const sql = clusters.standbySql();
  await t.test('replay paused: the list lags, single GETs and writes do not', async (t) => {
    await sql`SELECT pg_wal_replay_pause()`;
    const second = await vendor('Written while replay is paused');
    t.equal(second.status, 201, 'a write succeeds while the standby replays nothing');
    const single = await call(`/procurement/vendors/${second.body.id}`);
    t.equal(single.status, 200, 'a single GET is read on the primary: it finds the new vendor');

    const before = await listReads(server);
    const page = await listed();
    t.notOk(
      page.data.some((v) => v.id === second.body.id),
      'the list, read on the paused standby, does not show it yet',
    );
    t.ok(
      page.data.some((v) => v.id === first.body.id),
      'but shows what was replayed',
    );
    t.equal((await listReads(server)).replica, before.replica + 1, 'counted as a replica read');

    // The page's events_after is the standby's position: following the feed from it shows the
    // change the page lacks (once dispatched, on the primary).
    await waitFor('the new vendor in the feed after the page', async () => {
      const feed = await call(
        `/events?after=${encodeURIComponent(page.page.events_after)}&limit=100`,
      );
      return feed.body.data.some(
        (e: { type: string; data: { id: string } }) =>
          e.type === 'procurement.vendor.created' && e.data.id === second.body.id,
      );
    });
    t.pass("the feed after the page's events_after has the change the page does not show");

    // The documented stale ETag: an update on the primary, then the list's (older) ETag sent back.
    const current = await call(`/procurement/vendors/${first.body.id}`);
    const renamed = await call(`/procurement/vendors/${first.body.id}`, {
      method: 'PUT',
      json: { name: 'Renamed', currency: 'EUR', active: true },
      headers: { 'if-match': current.etag },
    });
    t.equal(renamed.status, 200, "an update with the single GET's ETag succeeds");
    const staleItem = (await listed()).data.find((v) => v.id === first.body.id)!;
    t.equal(staleItem.name, 'Replicated', 'the list still shows the old name');
    const stale = await call(`/procurement/vendors/${first.body.id}`, {
      method: 'PUT',
      json: { name: 'From the list', currency: 'EUR', active: true },
      headers: { 'if-match': staleItem.etag },
    });
    t.equal(
      stale.status,
      412,
      "the list item's stale ETag gets 412: the client re-reads the vendor",
    );
    const reread = await call(`/procurement/vendors/${first.body.id}`);
    t.equal(reread.body.name, 'Renamed', 'and the re-read (on the primary) is current');

    await sql`SELECT pg_wal_replay_resume()`;
    await waitFor('the list to catch up after replay resumes', () => has(second.body.id));
    t.pass('after replay resumes the list shows it');
  });

  await t.test('the standby stopped: writes and lists go on, on the primary', async (t) => {
    await standby.stop();
    const before = await listReads(server);
    const third = await vendor('Written while the standby is down');
    t.equal(third.status, 201, 'a write succeeds while the standby is down');
    t.ok(await has(third.body.id), 'a list is answered (on the primary) and shows it');
    for (let i = 0; i < 5; i++) t.equal((await call('/procurement/vendors')).status, 200);
    const after = await listReads(server);
    t.equal(after.replica, before.replica, 'no list was read on the replica');
    t.equal(after.primary, before.primary + 6, 'all six were read on the primary');

    await standby.start();
    await waitFor('lists back on the standby', async () => {
      await listed();
      return (await listReads(server)).replica > after.replica;
    });
    t.pass('once it is back, lists return to it');
  });

  await t.test(
    'a standby lagging more than DATABASE_REPLICA_MAX_LAG_MS serves no lists',
    async (t) => {
      const guarded = await spawnServer(t, primary.url, {
        DATABASE_REPLICA_URL: standby.url,
        DATABASE_REPLICA_MAX_LAG_MS: '200',
        RATE_LIMIT_MAX: '1000000',
      });
      const g = api(guarded);
      await waitFor('a list read on the replica', async () => {
        await g('/procurement/vendors');
        return (await listReads(guarded)).replica > 0;
      });
      await sql`SELECT pg_wal_replay_pause()`;
      const fourth = await vendor('Written while the guarded replica lags');
      t.equal(fourth.status, 201, 'a write succeeds while replay is paused');
      // Only the primary has it: the list shows it once the probe finds the lag over 200 ms.
      await waitFor('the lagging replica to be left for the primary', async () => {
        const res = await g('/procurement/vendors?limit=100');
        return res.body.data.some((v: { id: string }) => v.id === fourth.body.id);
      });
      t.pass('the list is read on the primary while the standby lags');
      await sql`SELECT pg_wal_replay_resume()`;
    },
  );
});
