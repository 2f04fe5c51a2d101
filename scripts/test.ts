// `npm test [-- tap args, e.g. test files]`: runs tap against a real PostgreSQL.
// DATABASE_URL set: used as an admin connection (a role with CREATEDB).
// Unset: a throwaway embedded cluster in .data/test-pg-<pid>, removed afterwards.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { constants } from 'node:os';
import path from 'node:path';
import { createSql, dropDatabase } from '../db/client.ts';
import {
  REPO_ROOT,
  removeCluster,
  startEmbeddedPostgres,
  type EmbeddedPostgres,
} from '../db/embedded.ts';
import { migrate } from '../db/migrate.ts';
import { urlForDatabase } from '../test/helpers/db.ts';

const TEMPLATE_DB = 'inventory_test_template';
const DATA_DIR = path.join(REPO_ROOT, '.data');

let cluster: EmbeddedPostgres | undefined;
let tap: ChildProcess | undefined;
let interrupted: NodeJS.Signals | undefined;

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    // A second signal means "now": the next run cleans up what is left behind.
    if (interrupted) process.exit(128 + constants.signals[signal]);
    interrupted = signal;
    const pid = tap?.pid;
    if (pid) {
      // tap's test processes ignore the first SIGINT they get: the group signal
      // plus tap's own relay usually ends them; SIGKILL whatever is left after 5 s.
      killGroup(pid, signal);
      setTimeout(() => killGroup(pid, 'SIGKILL'), 5_000).unref();
    }
  });
}

async function main(): Promise<number> {
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    await removeAbandonedClusters();
    const t0 = Date.now();
    cluster = await startEmbeddedPostgres({
      dataDir: path.join(DATA_DIR, `test-pg-${process.pid}`),
      persistent: false,
    });
    adminUrl = cluster.url;
    console.error(`# embedded postgres started in ${Date.now() - t0} ms`);
  }
  if (interrupted) return 128 + constants.signals[interrupted];

  const t0 = Date.now();
  const applied = await buildTemplate(adminUrl);
  console.error(
    `# template ${TEMPLATE_DB} built in ${Date.now() - t0} ms (${applied.length} migrations)`,
  );
  if (interrupted) return 128 + constants.signals[interrupted];

  const { DATABASE_URL: _, ...env } = process.env; // tests get databases from freshDatabase() only
  const child = spawn(path.join(REPO_ROOT, 'node_modules', '.bin', 'tap'), process.argv.slice(2), {
    cwd: REPO_ROOT,
    stdio: 'inherit',
    env: { ...env, TEST_ADMIN_DATABASE_URL: adminUrl, TEST_TEMPLATE_DB: TEMPLATE_DB },
    // Its own process group, so that on a signal we can end tap and every test
    // process it started at once (see above).
    detached: true,
  });
  tap = child;
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      // No pid: it was never spawned, so there is no group to end.
      if (interrupted && child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is already gone
  }
}

async function buildTemplate(adminUrl: string): Promise<string[]> {
  const admin = createSql(adminUrl, { max: 1, application: 'inventory-test-setup' });
  try {
    // A template left by an interrupted run may hold an older schema.
    await dropDatabase(admin, TEMPLATE_DB);
    await admin`create database ${admin(TEMPLATE_DB)}`;
    const template = createSql(urlForDatabase(adminUrl, TEMPLATE_DB), {
      max: 1,
      application: 'inventory-test-setup',
    });
    let applied: string[];
    try {
      applied = await migrate(template);
    } finally {
      await template.end();
    }
    // Cloning fails while anyone is connected to the template, so refuse connections.
    await admin`alter database ${admin(TEMPLATE_DB)} allow_connections false`;
    return applied;
  } finally {
    await admin.end();
  }
}

// Clusters of test runs that were killed (their PID is gone) would otherwise
// keep running and fill the disk.
async function removeAbandonedClusters(): Promise<void> {
  const entries = await readdir(DATA_DIR).catch(() => [] as string[]);
  for (const entry of entries) {
    const pid = Number(/^test-pg-(\d+)(\.initdb-\w+)?$/.exec(entry)?.[1]);
    if (pid && pid !== process.pid && !isAlive(pid))
      await removeCluster(path.join(DATA_DIR, entry));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const started = Date.now();
let code = 1;
try {
  code = await main();
} catch (err) {
  console.error(err);
} finally {
  await cluster?.stop().catch((err) => console.error('stopping embedded postgres:', err));
}
// The suite has a budget (docs/architecture.md, Tests): say what this run took of it.
const seconds = Math.round((Date.now() - started) / 1000);
const script = process.env.npm_lifecycle_event ?? 'test'; // test, or test:chaos
console.error(`# npm run ${script} took ${Math.floor(seconds / 60)} min ${seconds % 60} s`);
process.exit(code);
