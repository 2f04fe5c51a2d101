import { randomBytes } from 'node:crypto';
import type { Test } from 'tap';
import { createSql, dropDatabase, type Sql } from '../../db/client.ts';

/** url with its database name replaced. */
export function urlForDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/**
 * A new database cloned from the migrated template (a file copy: milliseconds,
 * unlike re-running the migrations), dropped again when t ends. Every test file
 * or subtest gets its own, so test files can run in parallel.
 */
export async function freshDatabase(
  t: Test,
  { empty = false } = {},
): Promise<{ url: string; sql: Sql }> {
  const admin = process.env.TEST_ADMIN_DATABASE_URL;
  const template = process.env.TEST_TEMPLATE_DB;
  if (!admin || !template) {
    throw new Error(
      'TEST_ADMIN_DATABASE_URL and TEST_TEMPLATE_DB are not set. Run tests with `npm test` ' +
        '(`npm test -- test/some.test.ts` for some files), not with `tap` directly: ' +
        'it starts PostgreSQL and builds the template database.',
    );
  }
  const name = `test_${randomBytes(6).toString('hex')}`;
  // empty: no schema at all, for tests of migrating from scratch.
  await asAdmin(
    admin,
    (a) => a`create database ${a(name)} template ${a(empty ? 'template0' : template)}`,
  );
  const url = urlForDatabase(admin, name);
  const sql = createSql(url, { application: 'inventory-test' });
  t.teardown(async () => {
    await sql.end({ timeout: 5 });
    await asAdmin(admin, (a) => dropDatabase(a, name));
  });
  return { url, sql };
}

// A short-lived connection per call: a pool kept open would keep the test
// process alive after its last test.
async function asAdmin(url: string, fn: (sql: Sql) => Promise<unknown>): Promise<void> {
  const sql = createSql(url, { max: 1, application: 'inventory-test-admin' });
  try {
    await fn(sql);
  } finally {
    await sql.end();
  }
}
