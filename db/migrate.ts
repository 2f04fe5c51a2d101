import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Sql } from './client.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

// Any fixed key works as long as nothing else in the database uses it.
const LOCK_KEY = 7_319_550_421;
const FILE_NAME = /^\d{4}_[\w.-]+\.sql$/;

/**
 * Applies the pending NNNN_name.sql files of dir in name order, each in its own
 * transaction, and returns the names applied. Files must not contain their own
 * BEGIN/COMMIT, nor statements that refuse to run in a transaction block
 * (CREATE INDEX CONCURRENTLY, ALTER TYPE ... ADD VALUE used in the same file).
 */
export async function migrate(sql: Sql, dir: string = MIGRATIONS_DIR): Promise<string[]> {
  const files = await migrationFiles(dir);
  // Everything runs on one reserved connection: the session-level advisory lock
  // belongs to it, and a pool of size 1 cannot deadlock against itself.
  const conn = await sql.reserve();
  try {
    // A second instance starting at the same time waits here, then sees the
    // first one's work in schema_migrations and has nothing left to do.
    await conn`select pg_advisory_lock(${LOCK_KEY})`;
    try {
      await conn`
        create table if not exists schema_migrations (
          name text primary key,
          applied_at timestamptz not null default now()
        )`;
      const done = new Set(
        (await conn<{ name: string }[]>`select name from schema_migrations`).map((r) => r.name),
      );
      const applied: string[] = [];
      for (const name of files.filter((f) => !done.has(f))) {
        const text = await readFile(path.join(dir, name), 'utf8');
        await conn`begin`;
        try {
          // No parameters: postgres.js uses the simple protocol, so a file may hold many statements.
          await conn.unsafe(text);
          await conn`insert into schema_migrations (name) values (${name})`;
          await conn`commit`;
        } catch (err) {
          await conn`rollback`.catch(() => {});
          throw Object.assign(new Error(`migration ${name} failed: ${(err as Error).message}`), {
            cause: err,
          });
        }
        applied.push(name);
      }
      return applied;
    } finally {
      await conn`select pg_advisory_unlock(${LOCK_KEY})`.catch(() => {});
    }
  } finally {
    conn.release();
  }
}

async function migrationFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    // git keeps no empty directories: a checkout without migrations has no db/migrations.
    if (err.code === 'ENOENT' && path.resolve(dir) === path.resolve(MIGRATIONS_DIR)) return [];
    throw err;
  });
  const sqlFiles = entries.filter((f) => f.endsWith('.sql')).sort();
  // A misnamed file would otherwise be skipped silently, and a duplicated number
  // makes the order depend on the rest of the name.
  const bad = sqlFiles.filter((f) => !FILE_NAME.test(f));
  if (bad.length) throw new Error(`migration files must be named NNNN_name.sql: ${bad.join(', ')}`);
  const numbers = sqlFiles.map((f) => f.slice(0, 4));
  const dup = numbers.find((n, i) => numbers.indexOf(n) !== i);
  if (dup) throw new Error(`two migration files share the number ${dup} in ${dir}`);
  return sqlFiles;
}
