// A throwaway PostgreSQL primary and a hot standby streaming from it, from Debian's server binaries
// (/usr/lib/postgresql/<version>/bin, the newest), as .ci/run starts its cluster: as root, every
// PostgreSQL tool runs as the `postgres` user (PostgreSQL refuses to run as root) in a directory
// that user owns; as anyone else, as that user. Trust authentication on 127.0.0.1 only, replication
// included (initdb's default pg_hba.conf has its `host replication` lines); the standby is a
// `pg_basebackup -R` of the primary, started on a port of its own.
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Test } from 'tap';
import { createSql, type Sql } from '../../db/client.ts';
import { freePort } from '../../db/embedded.ts';

const run = promisify(execFile);
const asRoot = process.getuid?.() === 0;

export const POSTGRES_HINT =
  'PostgreSQL server binaries not found (Debian: apt-get install postgresql); .ci/run installs them';

/** The newest Debian PostgreSQL's bin directory, or null. */
export function findPostgresBin(): string | null {
  let versions: string[] = [];
  try {
    versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
  } catch {
    return null;
  }
  const dir = versions
    .map((v) => `/usr/lib/postgresql/${v}/bin`)
    .find((d) => ['initdb', 'pg_ctl', 'pg_basebackup'].every((b) => existsSync(join(d, b))));
  return dir ?? null;
}

export interface Node {
  /** Superuser URL of its `postgres` database. */
  url: string;
  port: number;
  /** Starts it again (after stop) on the same port. */
  start(): Promise<void>;
  /** pg_ctl stop -m fast: sessions are ended, as at a restart. */
  stop(): Promise<void>;
}

export interface ReplicatedClusters {
  primary: Node;
  standby: Node;
  /** A superuser connection to the standby's `postgres` database (pause and resume replay). */
  standbySql(): Sql;
}

/**
 * Starts the pair, stopped and removed when t ends; null when the binaries are missing (the caller
 * reports it through missingTool). `database` is created on the primary and waited for on the
 * standby; the nodes' urls name it.
 */
export async function startReplicatedClusters(
  t: Test,
  database: string,
): Promise<ReplicatedClusters | null> {
  const bin = findPostgresBin();
  if (!bin) return null;
  if (asRoot)
    await run('id', ['postgres']).catch(() => {
      throw new Error('running as root needs a `postgres` user (.ci/run creates one)');
    });
  const dir = mkdtempSync(join(tmpdir(), 'pg-replication-'));
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const tool = async (name: string, args: string[]) => {
    const [file, argv] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', join(bin, name), ...args]]
      : [join(bin, name), args];
    try {
      return await run(file, argv, { cwd: dir, env: { ...process.env, LC_ALL: 'C' } });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new Error(`${name} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
  };
  const node = (name: string, port: number, settings: string[]): Node & { dataDir: string } => {
    const dataDir = join(dir, name);
    const options = [
      `-p ${port}`,
      '-c listen_addresses=127.0.0.1',
      `-c unix_socket_directories=${dir}`,
      // Throwaway: no disk flushes.
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      '-c max_connections=200',
      ...settings,
    ].join(' ');
    let running = false;
    return {
      dataDir,
      port,
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      async start() {
        await tool('pg_ctl', [
          '-D',
          dataDir,
          '-l',
          join(dir, `${name}.log`),
          '-w',
          '-t',
          '60',
          'start',
          '-o',
          options,
        ]);
        running = true;
      },
      async stop() {
        if (!running) return;
        running = false;
        await tool('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', 'stop']);
      },
    };
  };

  const [primaryPort, standbyPort] = [await freePort(), await freePort()];
  const primary = node('primary', primaryPort, ['-c wal_level=replica', '-c max_wal_senders=4']);
  const standby = node('standby', standbyPort, ['-c hot_standby=on']);
  const sessions: Sql[] = [];
  t.teardown(async () => {
    await Promise.all(sessions.map((s) => s.end({ timeout: 1 }).catch(() => {})));
    await standby.stop().catch(() => {});
    await primary.stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  await tool('initdb', [
    '-D',
    primary.dataDir,
    '--username=postgres',
    '--auth=trust',
    '--encoding=UTF8',
    '--locale=C.UTF-8',
    '--no-sync',
  ]);
  await primary.start();
  const admin = createSql(primary.url, { max: 1 });
  try {
    await admin`CREATE DATABASE ${admin(database)}`;
  } finally {
    await admin.end();
  }
  await tool('pg_basebackup', [
    '-h',
    '127.0.0.1',
    '-p',
    String(primaryPort),
    '-U',
    'postgres',
    '-D',
    standby.dataDir,
    '-R',
    '-X',
    'stream',
    '--checkpoint=fast',
    '--no-sync',
  ]);
  await standby.start();

  const withDatabase = (n: Node): Node => {
    const u = new URL(n.url);
    u.pathname = `/${database}`;
    return { url: u.toString(), port: n.port, start: n.start, stop: n.stop };
  };
  return {
    primary: withDatabase(primary),
    standby: withDatabase(standby),
    standbySql() {
      const s = createSql(standby.url, { max: 1 });
      sessions.push(s);
      return s;
    },
  };
}
