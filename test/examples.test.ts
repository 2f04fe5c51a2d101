// The examples run as a partner runs them: examples/flow.ts (through the SDK package: every step
// of an integration, and a webhook whose signature it verifies) against a real server process.
import t from 'tap';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../server/config.ts';
import { ALL_SCOPES, mintToken } from './helpers/auth.ts';
import { freshDatabase } from './helpers/db.ts';
import { spawnServer } from './helpers/process.ts';

const run = promisify(execFile);

t.test('examples/flow.ts runs the whole flow against a running server and exits 0', async (t) => {
  const { url, sql } = await freshDatabase(t);
  const server = await spawnServer(t, url);
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'examples/flow.ts')],
    {
      cwd: repoRoot,
      env: { ...process.env, API_URL: server.url, API_TOKEN: mintToken({ scope: ALL_SCOPES }) },
    },
  );
  t.match(stdout, /purchase order now RECEIVED/);
  t.match(stdout, /inventory\.stock_move\.posted evt_\S+ for sm_\S+: signature verified/);
  t.match(stdout, /^OK: the whole flow ran$/m);
  const [{ n }] = await sql`SELECT count(*)::int AS n FROM webhook_endpoints`;
  t.equal(n, 0, 'it deleted its webhook endpoint on the way out');
});
