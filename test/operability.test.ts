// The operator interface of README.md (Run and test, Configuration), through the real entry point
// (server/main.ts, as npm start runs it): migrations on start (safe with two instances at once),
// health, metrics, the published spec and reference page, dev tokens from `npm run token`,
// graceful SIGTERM (a request in flight still completes), and `npm start` itself stopped by
// Ctrl-C: the server first, then its embedded database, with nothing logged above info.
import t from 'tap';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { repoRoot } from '../server/config.ts';
import { spec } from '../server/spec.ts';
import { mintToken } from './helpers/auth.ts';
import { freshDatabase } from './helpers/db.ts';
import { freePort, removeCluster } from '../db/embedded.ts';
import { spawnServer } from './helpers/process.ts';
import { waitFor } from './helpers/wait.ts';

const run = promisify(execFile);

t.test('two instances starting at once on an empty database', async (t) => {
  const { url, sql } = await freshDatabase(t, { empty: true });
  const [a, b] = await Promise.all([spawnServer(t, url), spawnServer(t, url)]);
  const migrations = await sql`SELECT name FROM schema_migrations ORDER BY name`;
  t.ok(migrations.length >= 1);
  t.equal(
    new Set(migrations.map((m) => m.name)).size,
    migrations.length,
    'each migration applied once',
  );

  for (const server of [a, b]) {
    t.equal((await fetch(`${server.url}/healthz`)).status, 200);
    t.strictSame(await (await fetch(`${server.url}/readyz`)).json(), {
      status: 'ok',
      database: 'ok',
    });
  }

  t.test('published spec, reference page and metrics', async (t) => {
    // The contract as published names the address it was fetched from as its server.
    const served = { ...spec, servers: [{ url: a.url, description: 'This server' }] };
    t.strictSame(await (await fetch(`${a.url}/openapi.json`)).json(), served);
    const yaml = await fetch(`${a.url}/openapi.yaml`);
    t.match(yaml.headers.get('content-type'), /yaml/);
    t.strictSame(parse(await yaml.text()), served);
    const docs = await fetch(`${a.url}/docs`, { redirect: 'follow' });
    t.equal(docs.status, 200);
    t.match(await docs.text(), /<html/i);
    const metrics = await (await fetch(`${a.url}/metrics`)).text();
    t.match(metrics, /http_request_duration_seconds_bucket\{[^}]*operation="getReadiness"/);
  });

  t.test('SIGTERM shuts down cleanly', async (t) => {
    await b.stop('SIGTERM');
    t.equal(b.child.exitCode, 0);
    t.equal((await fetch(`${a.url}/healthz`)).status, 200, 'the other instance is unaffected');
  });
});

t.test('SIGTERM: a request in flight completes, then the process exits 0', async (t) => {
  const { url, sql } = await freshDatabase(t);
  const server = await spawnServer(t, url);
  // Hold a lock the request will wait for, so that it is provably in flight when SIGTERM arrives.
  let release!: () => void;
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => (locked = resolve));
  const holder = sql.begin(async (tx) => {
    await tx`LOCK TABLE warehouses IN SHARE MODE`;
    locked();
    await new Promise<void>((resolve) => (release = resolve));
  });
  await isLocked;
  const inFlight = fetch(`${server.url}/inventory/warehouses`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${mintToken({ scope: 'inventory:write' })}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ id: 'WH-LATE', name: 'Created during shutdown' }),
  });
  await waitFor(
    'the request to wait for the lock',
    async () =>
      (
        await sql`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%insert into warehouses%'`
      ).length === 1,
  );

  server.child.kill('SIGTERM');
  await waitFor('the server to stop taking requests', () =>
    fetch(`${server.url}/healthz`).then(
      (res) => res.status === 503,
      () => true,
    ),
  );
  release();
  await holder;

  const res = await inFlight;
  t.equal(res.status, 201, 'the request in flight was answered');
  t.equal(
    res.headers.get('connection'),
    'close',
    'on a connection closed after it (not kept alive for 72 s)',
  );
  await server.stop();
  t.equal(server.child.exitCode, 0);
  t.equal(
    (await sql`SELECT 1 FROM warehouses WHERE id = 'WH-LATE'`).length,
    1,
    'and its effect committed',
  );
  t.equal(
    (await sql`SELECT 1 FROM audit_log WHERE entity_id = 'WH-LATE'`).length,
    1,
    'with its audit entry',
  );
});

t.test('dev mode: npm run token mints tokens the server accepts', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'inventory-dev-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const { url } = await freshDatabase(t);
  const server = await spawnServer(t, url, {
    AUTH_ISSUER: '',
    AUTH_AUDIENCE: '',
    AUTH_PUBLIC_KEY: '',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
  });
  t.match(
    server.output(),
    /npm run -s token -- --scope/,
    'start-up says how to get a token (-s: only the token on stdout, for $(...))',
  );

  const token = async (...args: string[]) =>
    (
      await run(
        process.execPath,
        ['--import', 'tsx', join(repoRoot, 'scripts/token.ts'), ...args],
        { cwd: repoRoot, env: { ...process.env, DATA_DIR: dataDir } },
      )
    ).stdout.trim();
  const writer = await token('--scope', 'inventory:read inventory:write', '--sub', 'alice');
  const created = await fetch(`${server.url}/inventory/warehouses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${writer}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'WH-A', name: 'Main' }),
  });
  t.equal(created.status, 201);
  await new Promise((r) => setTimeout(r, 200));
  const line = server
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l))
    .find((l) => l.request_id === created.headers.get('x-request-id'));
  t.match(
    line,
    {
      msg: 'request completed',
      operation: 'createWarehouse',
      status: 201,
      actor: 'alice',
      latency_ms: Number,
    },
    'one JSON log line with request id, actor and latency',
  );
  const reader = await token('--scope', 'inventory:read', '--warehouses', 'WH-B');
  const listed = await (
    await fetch(`${server.url}/inventory/warehouses`, {
      headers: { authorization: `Bearer ${reader}` },
    })
  ).json();
  t.strictSame(listed.data, [], 'the --warehouses claim is honoured');

  await t.rejects(
    run(process.execPath, ['--import', 'tsx', join(repoRoot, 'scripts/token.ts')], {
      cwd: repoRoot,
      env: { ...process.env, DATA_DIR: dataDir, NODE_ENV: 'production' },
    }),
    'refused when NODE_ENV=production',
  );
});

t.test(
  'the npm scripts answer --help and mistyped options with their usage, not a stack trace',
  async (t) => {
    const script = (name: string, ...args: string[]) =>
      run(process.execPath, ['--import', 'tsx', join(repoRoot, name), ...args], { cwd: repoRoot });
    for (const name of ['scripts/token.ts', 'scripts/bench/index.ts']) {
      const help = await script(name, '--help');
      t.match(help.stdout, /^Usage: npm run (token|bench)/, `${name} --help prints the usage`);
      const wrong = await script(name, '--bogus').then(
        () => null,
        (err: { code: number; stderr: string }) => err,
      );
      t.equal(wrong?.code, 2, `${name} --bogus exits with 2`);
      t.match(
        wrong?.stderr,
        /Unknown option '--bogus'[\s\S]*Usage:/,
        'saying what is wrong, then the usage',
      );
      t.notMatch(wrong?.stderr, /\n\s+at /, 'without a stack trace');
    }
    const typo = await script('scripts/token.ts', '--scope', 'inventory:read inventory:reed').then(
      () => null,
      (err: { code: number; stderr: string; stdout: string }) => err,
    );
    t.equal(typo?.code, 2, 'an unknown scope exits with 2');
    t.match(typo?.stderr, /Unknown scope inventory:reed: the scopes are inventory:read, /);
    t.equal(typo?.stdout, '', 'and mints no token');
    const ttl = await script('scripts/token.ts', '--ttl', 'soon').then(
      () => null,
      (err: { code: number; stderr: string }) => err,
    );
    t.equal(ttl?.code, 2);
    t.match(ttl?.stderr, /--ttl must be a whole number of at least 1, not "soon"/);
  },
);

t.test(
  'npm start on its embedded database stops quietly on SIGINT, sent to its process group (Ctrl-C) or to npm alone',
  async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'inventory-start-'));
    chmodSync(dataDir, 0o755); // as root, postgres runs as the postgres user and must enter it
    const started: ChildProcess[] = [];
    t.teardown(async () => {
      // After a failure: npm's group, then the database, which runs in a process group of its own.
      for (const npm of started) {
        if (npm.exitCode !== null || npm.signalCode !== null || !npm.pid) continue;
        const exited = once(npm, 'exit');
        process.kill(-npm.pid, 'SIGKILL');
        await exited;
      }
      await removeCluster(join(dataDir, 'pg'));
      rmSync(dataDir, { recursive: true, force: true });
    });
    for (const target of ['process group', 'npm alone'] as const) {
      const port = await freePort();
      // Its own process group, as a shell gives a foreground job; DATABASE_URL unset: embedded.
      const npm = spawn('npm', ['start'], {
        cwd: repoRoot,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'info' },
      });
      started.push(npm);
      let output = '';
      npm.stdout.on('data', (d) => (output += d));
      npm.stderr.on('data', (d) => (output += d));
      const exited = once(npm, 'exit');
      await waitFor('npm start to listen', () => output.includes('listening on'), 120_000);
      t.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200, `${target}: serving`);

      process.kill(target === 'npm alone' ? (npm.pid ?? 0) : -(npm.pid ?? 0), 'SIGINT');
      const [code] = await exited;
      t.equal(code, 0, `${target}: npm start exits 0`);
      t.match(output, /"signal":"SIGINT","msg":"shutting down"/, 'the server heard the signal');
      // A database stopped before the server closed its connections shows here (ECONNRESET).
      t.same(
        output.split('\n').filter((line) => /"level":(40|50|60)/.test(line)),
        [],
        'nothing logged as a warning or an error',
      );
      t.notMatch(output, /\n\s+at /, 'no stack trace');
      t.notOk(existsSync(join(dataDir, 'pg', 'postmaster.pid')), 'the database stopped after it');
    }
  },
);
