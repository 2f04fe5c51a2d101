// `npm run sandbox [-- --port 4000] [--env-out PATH]`: a disposable copy of the API for a
// partner's tests (docs/contract-testing.md). It runs what `npm start` runs on an empty temporary
// data dir (its own embedded PostgreSQL, dev auth, webhooks to loopback allowed), fills it with
// `npm run seed`'s demo data, mints a token with every scope through `npm run token`, prints
// API_URL=, API_TOKEN= and DATA_DIR= lines, and on SIGINT or SIGTERM stops the server and removes the dir.
// The three are run as they are, not copied: the sandbox is the server a partner would deploy.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../server/config.ts';
import { commandLine, wholeNumber } from './lib/cli.ts';
import { spawnServerProcess, type ServerProcess } from './lib/spawn-server.ts';

const values = commandLine(
  `Usage: npm run sandbox [-- options]

  --port N          where to listen on 127.0.0.1 (default 4000; 0: any free port)
  --env-out PATH    also write the API_URL=, API_TOKEN= and DATA_DIR= lines to PATH (for CI)

Starts the API on an empty temporary database with the demo data of npm run seed, prints its
URL and a token with every scope (valid 24 hours), and removes everything on Ctrl-C or SIGTERM.`,
  {
    port: { type: 'string', default: '4000' },
    'env-out': { type: 'string' },
  },
);
const port = wholeNumber('port', values.port, 0);
const SCOPES =
  'inventory:read inventory:write procurement:write procurement:approve webhooks:manage';
const run = promisify(execFile);

// A DATABASE_URL, AUTH_* or REDIS_URL of the caller's shell would make the sandbox share a real
// database or Redis or expect real tokens; NODE_ENV=production refuses dev auth; HOST would take
// it off loopback.
// Set to '' (which the server reads as unset) rather than left out: a child's environment starts
// from this process's own where it is not given (scripts/lib/spawn-server.ts).
const env: Record<string, string> = {};
for (const [name, value] of Object.entries(process.env))
  if (value !== undefined)
    env[name] = /^(DATABASE_|AUTH_|REDIS_URL$|NODE_ENV$|HOST$|PORT$)/.test(name) ? '' : value;
const dataDir = await mkdtemp(join(tmpdir(), 'inventory-sandbox-'));
// Run as root, the embedded PostgreSQL runs as the postgres user, which must enter the dir.
await chmod(dataDir, 0o711);
Object.assign(env, {
  DATA_DIR: dataDir,
  WEBHOOK_ALLOW_PRIVATE: '1',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
});
const scripts: Record<string, string> = JSON.parse(
  readFileSync(join(repoRoot, 'package.json'), 'utf8'),
).scripts;
/** An npm script (`tsx scripts/seed.ts`), run as npm would run it, on the sandbox's data dir. */
const script = (name: string, args: string[] = []) =>
  run(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, scripts[name].replace(/^tsx /, '')), ...args],
    { cwd: repoRoot, env },
  );

let server: ServerProcess | undefined;
let stopping: Promise<void> | undefined;
const stop = (code: number) =>
  (stopping ??= (async () => {
    await server?.stop('SIGTERM');
    await rm(dataDir, { recursive: true, force: true });
    // A CI waiting for this file must not find the one of a sandbox that is gone.
    if (values['env-out']) await rm(values['env-out'], { force: true });
    console.error(`sandbox stopped, ${dataDir} removed`);
    process.exit(code);
  })());
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
  process.on(signal, () => void stop(0));

try {
  // The server's own start (server/main.ts, as `npm start`); it migrates the new database.
  server = await spawnServerProcess({ ...env, PORT: String(port) }, { startTimeoutMs: 120_000 });
  server.child.stdout?.pipe(process.stderr);
  server.child.stderr?.pipe(process.stderr);
  server.child.once('exit', (code) => {
    if (!stopping) {
      console.error(`the sandbox's server exited (${code})`);
      void stop(1);
    }
  });
  const seeded = await script('seed');
  const token = (
    await script('token', ['--scope', SCOPES, '--sub', 'sandbox-user', '--ttl', '86400'])
  ).stdout.trim();
  // DATA_DIR: where `npm run token` finds the sandbox's dev key, to mint other tokens.
  const lines = `API_URL=${server.url}\nAPI_TOKEN=${token}\nDATA_DIR=${dataDir}\n`;
  if (values['env-out']) {
    // Whole or not at all: a CI waiting for the file may read it as soon as it exists.
    await writeFile(`${values['env-out']}.partial`, lines);
    await rename(`${values['env-out']}.partial`, values['env-out']);
  }
  console.error(
    `${seeded.stdout.trim()}\nsandbox ready on ${server.url} (data in ${dataDir}, removed on Ctrl-C or SIGTERM); a token with every scope:`,
  );
  process.stdout.write(lines);
} catch (err) {
  console.error(`the sandbox did not start: ${err instanceof Error ? err.message : err}`);
  await stop(1);
}
