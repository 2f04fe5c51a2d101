// PostgreSQL's side of a measurement (`npm run bench -- --statements`): pg_stat_statements over
// the measured seconds, per answer. The bench's embedded PostgreSQL then loads the extension
// (with DATABASE_URL, the cluster must have it in shared_preload_libraries). Execution time is
// wall time: it includes waiting for row locks (a hot level's, behind the batch holding it) and
// for a CPU, so read it as where PostgreSQL's time goes, and cpu-use.ts's figure as how much CPU.
import type { Sql } from '../../db/client.ts';

export const STATEMENTS_SETTINGS = [
  'shared_preload_libraries=pg_stat_statements',
  'pg_stat_statements.track=all',
];

/** Creates the extension in the bench's database; false (and why, printed) where it cannot be. */
export async function enableStatements(sql: Sql): Promise<boolean> {
  try {
    await sql`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`;
    await sql`SELECT pg_stat_statements_reset()`;
    return true;
  } catch (err) {
    console.error(
      `# --statements: pg_stat_statements is not available (${(err as Error).message}): needs shared_preload_libraries=pg_stat_statements`,
    );
    return false;
  }
}

export async function resetStatements(sql: Sql): Promise<void> {
  await sql`SELECT pg_stat_statements_reset()`;
}

/** A statement's first words, for a table: `UPDATE stock_levels`, `WITH events AS (INSERT INTO outbox`. */
export function statementLabel(query: string, width = 90): string {
  const flat = query.replace(/\s+/g, ' ').trim();
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
}

/**
 * The statements that took the most time since the last reset, per answer of the measurement.
 * Statements run inside others (foreign-key checks, a trigger's queries: `track=all`) are marked
 * nested; their time is also in their statement's, so the total counts top-level ones only.
 */
export async function printStatements(sql: Sql, answers: number, top = 20): Promise<void> {
  const rows = await sql<
    { calls: string; ms: number; query: string; toplevel: boolean; toplevel_ms: number }[]
  >`
    SELECT calls::text, total_exec_time AS ms, query, toplevel,
      sum(total_exec_time) FILTER (WHERE toplevel) OVER () AS toplevel_ms
    FROM pg_stat_statements
    WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND query NOT LIKE '%pg_stat_statements%'
    ORDER BY total_exec_time DESC LIMIT ${top}`;
  const total = rows[0]?.toplevel_ms ?? 0;
  console.error(
    `#   PostgreSQL: ${((1000 * total) / answers).toFixed(0)} µs of statement execution per answer (wall time); the top ${rows.length}:`,
  );
  for (const r of rows)
    console.error(
      `#     ${((1000 * r.ms) / answers).toFixed(1).padStart(7)} µs ${(Number(r.calls) / answers).toFixed(3).padStart(7)} calls ${r.toplevel ? '' : '(nested) '}${statementLabel(r.query)}`,
    );
}
