// The PgBouncer setup of docs/deploy.md, under load: the server's pool goes through PgBouncer in
// transaction pooling mode (DATABASE_URL with ?prepare=false, as PgBouncer before 1.21 keeps no
// prepared statements), while migrations and the webhook dispatcher's LISTEN use a direct
// connection (DATABASE_DIRECT_URL). The whole example flow runs (its webhook must be woken by a
// NOTIFY: the dispatcher's poll is set to 10 minutes), then load, then every invariant is checked.
import t from 'tap';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../../server/config.ts';
import { ALL_SCOPES, mintToken } from '../helpers/auth.ts';
import { missingTool } from '../helpers/tools.ts';
import { freshDatabase } from '../helpers/db.ts';
import { startPgBouncer } from '../helpers/pgbouncer.ts';
import { spawnServer } from '../helpers/process.ts';
import { runLoad } from './load.ts';
import { seedChaos } from './seed.ts';
import { verifyAfterChaos } from './verify.ts';

const SECONDS = Number(process.env.CHAOS_SECONDS ?? 10);

t.test('behind PgBouncer in transaction mode', async (t) => {
  const { url, sql } = await freshDatabase(t, { empty: true });
  const pooled = await startPgBouncer(t, url);
  if (!pooled) {
    return missingTool(
      t,
      'pgbouncer is not installed (Debian: apt-get install pgbouncer); .ci/run installs it',
    );
  }
  const databaseUrl = new URL(pooled);
  databaseUrl.searchParams.set('prepare', 'false');
  const server = await spawnServer(t, databaseUrl.toString(), {
    DATABASE_DIRECT_URL: url,
    WEBHOOK_POLL_S: '600',
    RATE_LIMIT_MAX: '1000000',
  });
  t.ok(
    (await sql`SELECT count(*)::int AS n FROM schema_migrations`)[0].n > 0,
    'migrations ran (on the direct connection)',
  );

  const token = mintToken({ scope: ALL_SCOPES, expiresIn: 3600 });
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'examples/flow.ts')],
    {
      cwd: repoRoot,
      env: { ...process.env, API_URL: server.url, API_TOKEN: token },
    },
  );
  t.match(
    stdout,
    /signature verified/,
    'examples/flow.ts ran, its webhook delivered without waiting for a poll',
  );

  const catalogue = await seedChaos(server.url, token);
  const { attempted, stats } = await runLoad({
    target: () => server.url,
    token,
    clients: 16,
    until: new Promise((r) => setTimeout(r, SECONDS * 1000)),
    ...catalogue,
  });
  await verifyAfterChaos(
    t,
    sql,
    attempted,
    stats,
    'none; every request through PgBouncer (transaction mode, 8 server connections)',
  );
});
