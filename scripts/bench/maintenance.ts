// The database's state between measurements: each starts from the same one, whatever ran before
// it, and none pays for work that a running production cluster would not be doing.
import type { Sql } from '../../db/client.ts';

/** Runs a step that needs a privilege (superuser, pg_checkpoint): undefined when the role lacks it (42501), so the run goes on without the step, and says so. */
async function ifPermitted<T>(step: () => Promise<T>): Promise<T | undefined> {
  try {
    return await step();
  } catch (err) {
    if ((err as { code?: string }).code !== '42501') throw err;
    return undefined;
  }
}

/**
 * Starts each measurement from the same state, whatever ran before it: dead row versions vacuumed
 * (the hot baseline leaves thousands on the one row issue-hot then updates, which made issue-hot
 * run at half speed in some runs), statistics fresh, and dirty pages written out (a CHECKPOINT;
 * their write-back otherwise takes CPU from the next scenario).
 */
export async function settle(sql: Sql) {
  const started = Date.now();
  await sql`VACUUM ANALYZE`;
  const checkpointed = (await ifPermitted(() => sql`CHECKPOINT`)) !== undefined;
  console.error(
    `# settled (VACUUM ANALYZE${checkpointed ? ', CHECKPOINT' : '; no CHECKPOINT: not allowed for this role'}) in ${Date.now() - started} ms`,
  );
}

/**
 * The bench's ledger starts nearly empty and grows by tens of thousands of rows a minute, so every
 * table crosses autovacuum's thresholds (a fraction of its size) at each of the launcher's
 * one-minute rounds, and 2–5 s of vacuuming and analyzing land in whichever measurement runs then,
 * on the cores the server and pgbench share. A production ledger of millions of rows crosses them
 * rarely. So by default this maintenance runs between measurements (`settle`), not at random inside
 * them; the bench owns its database, and PostgreSQL's own settings are left alone.
 */
export async function scheduleMaintenance(sql: Sql) {
  const tables = await sql<
    { name: string }[]
  >`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'`;
  for (const { name } of tables)
    await sql`ALTER TABLE ${sql(name)} SET (autovacuum_enabled = false, toast.autovacuum_enabled = false)`;
  console.error(
    "# autovacuum off for the bench's tables: VACUUM ANALYZE runs between measurements instead (--autovacuum leaves it on)",
  );
}

/** WAL segments a measurement may write without creating one: twice what one writes at ~4,000 postings/s (~15 of 16 MB). */
const WAL_SEGMENTS = 32;

/**
 * A fresh cluster (the embedded one this bench starts) creates each 16 MB WAL segment the first
 * time its WAL reaches it, writing it full of zeros and flushing it, and the commits behind that
 * write wait: on this VM a transfer-uniform measurement crossed some eleven new segments and its
 * p99 rose from ~28 to ~60 ms. A cluster that has been running instead renames segments it no
 * longer needs. So before measuring, the bench walks its WAL through new segments until it has as
 * many as a measurement may write; the CHECKPOINT of the `settle` before every measurement then
 * keeps them for reuse. A cluster that has them already is left alone.
 */
export async function warmWal(sql: Sql) {
  const started = Date.now();
  const count = async () =>
    (
      await sql<
        { n: number }[]
      >`SELECT count(*)::int AS n FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}$'`
    )[0].n;
  const segments = await ifPermitted(async () => {
    const before = await count();
    // Counted again after each switch: a switch's next segment is made only when WAL reaches it, so
    // switches do not map one to one onto files. (Bounded, in case a checkpoint removes some meanwhile.)
    let after = before;
    for (let switches = 0; after < WAL_SEGMENTS && switches < 2 * WAL_SEGMENTS; switches++) {
      // A switch needs a record in the current segment, or it does nothing: hence the message.
      await sql`SELECT pg_logical_emit_message(false, 'bench', 'warm'), pg_switch_wal()`;
      after = await count();
    }
    return { before, after };
  });
  console.error(
    segments
      ? `# WAL: ${segments.after} segments for reuse, ${segments.after - segments.before} of them made now, in ${Date.now() - started} ms`
      : '# WAL not warmed: pg_ls_waldir and pg_switch_wal need a superuser',
  );
}
