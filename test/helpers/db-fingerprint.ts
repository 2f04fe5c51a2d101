import type { Sql } from '../../db/client.ts';

/** A hash of every row of every table, to prove that a batch of requests changed nothing. */
export async function databaseFingerprint(sql: Sql): Promise<Record<string, string>> {
  const tables =
    await sql`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`;
  const result: Record<string, string> = {};
  for (const { tablename } of tables) {
    const [row] =
      await sql`SELECT count(*)::int AS n, coalesce(md5(string_agg(md5(t::text), '' ORDER BY md5(t::text))), '') AS h FROM ${sql(tablename)} t`;
    result[tablename] = `${row.n}:${row.h}`;
  }
  return result;
}
