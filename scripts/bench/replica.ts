// A hot standby of the bench's embedded PostgreSQL, for the scenarios read on a replica
// (stock-levels-200-replica). The npm binaries have no pg_basebackup, so it is the base backup
// pg_basebackup makes, by hand: a replication slot keeps the WAL from the backup's start, the data
// directory is copied between pg_backup_start() and pg_backup_stop() (whose backup_label the copy
// gets), and the copy starts as a standby streaming from the primary (standby.signal,
// primary_conninfo). On the same machine it shares the primary's cores: the bench measures what
// reading lists elsewhere costs and saves here, not what a standby on its own hardware adds.
import { cp, mkdir, rm, writeFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSql } from '../../db/client.ts';
import { removeCluster, startEmbeddedPostgres, type EmbeddedPostgres } from '../../db/embedded.ts';

const SLOT = 'bench_standby';
/** What a base backup leaves out (pg_basebackup's own list, of what this cluster has); see also skipped(). */
const SKIPPED = new Set([
  'postmaster.pid',
  'postmaster.opts',
  'embedded-owner.pid',
  'standby.signal',
  'recovery.signal',
  'backup_label',
  'pgsql_tmp',
]);
/**
 * Also the relation cache's init files (pg_internal.init, and its temporary pg_internal.init.PID):
 * rebuilt at start, and removed by the primary at any time (a copy that met one vanishing failed
 * with ENOENT). pg_basebackup leaves out any name starting so.
 */
const skipped = (name: string) => SKIPPED.has(name) || name.startsWith('pg_internal.init');
const EMPTIED = [
  'pg_wal',
  'pg_replslot',
  'pg_stat_tmp',
  'pg_dynshmem',
  'pg_notify',
  'pg_serial',
  'pg_snapshots',
  'pg_subtrans',
];

export interface Standby extends EmbeddedPostgres {
  /** Waits until the standby has replayed everything the primary has written so far. */
  caughtUp(): Promise<void>;
}

/**
 * Copies the data directory but what a base backup leaves out. A file the primary removes during
 * the copy (pg_basebackup skips those) makes fs.cp fail with ENOENT: the copy starts again, still
 * within the backup.
 */
async function copyDataDir(from: string, to: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await cp(from, to, {
        recursive: true,
        filter: (source) => {
          const parts = source.slice(from.length + 1).split('/');
          if (skipped(parts[parts.length - 1])) return false;
          return !(parts.length > 1 && EMPTIED.includes(parts[0]));
        },
      });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt === 3) throw err;
      await rm(to, { recursive: true, force: true });
    }
  }
}

export async function startStandby(
  primaryUrl: string,
  primaryDataDir: string,
  dataDir: string,
): Promise<Standby> {
  await removeCluster(dataDir);
  const primary = createSql(primaryUrl, { max: 1, application: 'bench-base-backup' });
  try {
    await primary`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = ${SLOT}`;
    await primary`SELECT pg_create_physical_replication_slot(${SLOT}, true)`;
    // One connection: the backup is the session's, started and stopped on it.
    await primary`SELECT pg_backup_start('bench standby', true)`;
    await copyDataDir(primaryDataDir, dataDir);
    for (const dir of EMPTIED) await mkdir(join(dataDir, dir), { recursive: true });
    const [{ labelfile }] = await primary<
      { labelfile: string }[]
    >`SELECT labelfile FROM pg_backup_stop(false)`;
    await writeFile(join(dataDir, 'backup_label'), labelfile);
    await writeFile(join(dataDir, 'standby.signal'), '');
    const u = new URL(primaryUrl);
    await appendFile(
      join(dataDir, 'postgresql.auto.conf'),
      `\nprimary_conninfo = 'host=${u.hostname} port=${u.port} user=${decodeURIComponent(u.username)} password=${decodeURIComponent(u.password)} application_name=bench_standby'\nprimary_slot_name = '${SLOT}'\n`,
    );
  } catch (err) {
    await primary`SELECT pg_backup_stop(false)`.catch(() => {});
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  } finally {
    await primary.end();
  }
  const cluster = await startEmbeddedPostgres({ dataDir, persistent: true });
  return {
    url: cluster.url,
    async caughtUp() {
      const p = createSql(primaryUrl, { max: 1 });
      const s = createSql(cluster.url, { max: 1 });
      try {
        const [{ lsn }] = await p<{ lsn: string }[]>`SELECT pg_current_wal_lsn()::text AS lsn`;
        for (const deadline = Date.now() + 120_000; ; ) {
          const [{ behind }] = await s<{ behind: boolean }[]>`
            SELECT coalesce(pg_last_wal_replay_lsn() < ${lsn}::pg_lsn, true) AS behind`;
          if (!behind) return;
          if (Date.now() > deadline) throw new Error('the standby did not catch up in 120 s');
          await new Promise((r) => setTimeout(r, 100));
        }
      } finally {
        await Promise.all([p.end(), s.end()]);
      }
    },
    async stop() {
      await cluster.stop();
      const p = createSql(primaryUrl, { max: 1 });
      try {
        await p`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = ${SLOT}`;
      } finally {
        await p.end();
      }
      await removeCluster(dataDir);
    },
  };
}
