// The examples run as a partner runs them: examples/flow.ts (through the SDK package: every step
// of an integration, and a webhook whose signature it verifies) against a real server process;
// and the spec's own example requests, those of /docs, against the demo data.
import t from 'tap';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../server/config.ts';
import { spec } from '../server/spec.ts';
import { exampleRequests } from '../scripts/lib/code-samples.ts';
import { ALL_SCOPES, mintToken } from './helpers/auth.ts';
import { freshDatabase } from './helpers/db.ts';
import { spawnServer } from './helpers/process.ts';
import { startServer } from './helpers/server.ts';

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

// Every operation's example request (scripts/lib/code-samples.ts: what its curl and SDK samples
// send, with its query examples too) against a server with the demo data of `npm run seed`, in
// the spec's order, as a reader trying them one after the other would. None may fail on our side;
// those that address only what the demo data has must succeed. The others name ids the server
// makes (sm_..., po_...), which no seeding can reproduce: they are answered 4xx (404 mostly).
const SERVER_MADE_ID =
  /\b(sm|res|req|po|pol|rcpt|inv|whk|whd|evt|vret|sc|loc|put|vi|ror|rpl)_01[0-9A-Z]{10}\b/;

t.test('every example request of the spec works against the demo data', async (t) => {
  const { url } = await freshDatabase(t);
  await run(process.execPath, ['--import', 'tsx', join(repoRoot, 'scripts/seed.ts')], {
    cwd: repoRoot,
    env: { ...process.env, DATABASE_URL: url },
  });
  const s = await startServer(t, { databaseUrl: url });
  for (const req of exampleRequests(spec)) {
    const bodies = req.bodies.length ? req.bodies : [{ name: 'no body', value: undefined }];
    for (const { name, value } of bodies) {
      const headers: Record<string, string> = {};
      if (req.idempotencyKey) headers['idempotency-key'] = randomUUID();
      if (req.etagFrom) {
        const current = await s.request(req.etagFrom.path);
        headers['if-match'] = current.headers.get('etag') ?? '"v1"';
      }
      const query = new URLSearchParams(req.query).toString();
      const res = await s.request(`${req.path}${query ? `?${query}` : ''}`, {
        method: req.method,
        headers,
        token: req.authorized ? {} : null,
        json: value,
      });
      const problem = res.status >= 300 ? await res.json().catch(() => ({})) : {};
      const what = `${req.operationId} (${name}) → ${res.status} ${problem.detail ?? ''}`.trim();
      if (SERVER_MADE_ID.test(JSON.stringify([req.pathParams, value])))
        t.ok(res.status >= 400 && res.status < 500, what);
      else t.ok(res.status >= 200 && res.status < 300, what);
      if (!res.bodyUsed) await res.body?.cancel();
    }
  }
});
