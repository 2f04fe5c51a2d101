import { createConnection, createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { createSql, inTransaction } from '../db/client.ts';
import { migrate } from '../db/migrate.ts';
import { freshDatabase } from './helpers/db.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/migrations/', import.meta.url));
const FIXTURE_NAMES = ['0001_harness_widgets.sql', '0002_harness_widget_price.sql'];

t.test('a fresh database is cloned from the migrated template', async (t) => {
  const { sql } = await freshDatabase(t);
  const [row] = await sql`select to_regclass('schema_migrations') is not null as present`;
  t.equal(row.present, true);
});

t.test('numeric and int8 come back as numbers', async (t) => {
  const { sql } = await freshDatabase(t);
  const [row] = await sql`select 12.50::numeric as n, 9007199254740991::int8 as b, count(*) as c`;
  t.same({ ...row }, { n: 12.5, b: Number.MAX_SAFE_INTEGER, c: 1 });
});

t.test('fresh databases are independent', async (t) => {
  const a = await freshDatabase(t);
  const b = await freshDatabase(t);
  t.not(a.url, b.url);
  await a.sql`create table only_in_a (id int)`;
  const [row] = await b.sql`select to_regclass('only_in_a') as found`;
  t.equal(row.found, null);
});

t.test('concurrent migrate() applies each file exactly once', async (t) => {
  const { url } = await freshDatabase(t);
  // Two pools stand for two server instances starting at the same time.
  const one = createSql(url, { max: 2 });
  const two = createSql(url, { max: 2 });
  try {
    const [a, b] = await Promise.all([migrate(one, FIXTURES), migrate(two, FIXTURES)]);
    t.same([...a, ...b].sort(), FIXTURE_NAMES, 'between them, every file applied once');
    t.ok(a.length === 0 || b.length === 0, 'the second waited for the lock, then found nothing to do');
    const recorded = await one`select name from schema_migrations where name = any(${FIXTURE_NAMES}) order by name`;
    t.same(recorded.map((r) => r.name), FIXTURE_NAMES);
    const marks = await one`select file from harness_fixture.applied order by file`;
    t.same(marks.map((r) => r.file), ['0001', '0002']);
    t.same(await migrate(two, FIXTURES), [], 'a later run applies nothing');
  } finally {
    await Promise.all([one.end(), two.end()]);
  }
});

t.test('inTransaction retries serialization failures and deadlocks only', async (t) => {
  const { sql } = await freshDatabase(t);
  await sql`create table counter (n int)`;
  let calls = 0;
  const result = await inTransaction(sql, async (tx) => {
    calls++;
    await tx`insert into counter values (${calls})`;
    if (calls < 3) throw Object.assign(new Error('conflict'), { code: calls === 1 ? '40001' : '40P01' });
    return 'done';
  });
  t.equal(result, 'done');
  t.equal(calls, 3);
  t.same((await sql`select n from counter`).map((r) => r.n), [3], 'failed attempts were rolled back');

  calls = 0;
  await t.rejects(
    inTransaction(sql, async () => {
      calls++;
      throw Object.assign(new Error('unique'), { code: '23505' });
    }),
    { code: '23505' },
  );
  t.equal(calls, 1);
});

// postgres.js fetches array types as the first statement of every new connection, and dropped
// that promise: a connection lost at that moment (a database restart) crashed the process with an
// unhandled rejection (porsager/postgres#1192; patches/postgres+3.4.9.patch). A proxy resets the
// connection as the types query passes through it, once.
t.test('a connection lost while postgres.js fetches types fails its query, not the process', async (t) => {
  const { url } = await freshDatabase(t);
  const target = new URL(url);
  let resets = 0;
  const sockets = new Set<Socket>();
  const proxy = createServer((client) => {
    const server = createConnection(Number(target.port), target.hostname);
    sockets.add(client).add(server);
    client.on('error', () => {}).on('close', () => server.destroy());
    server.on('error', () => {}).on('close', () => client.destroy());
    server.pipe(client);
    client.on('data', (chunk: Buffer) => {
      if (resets === 0 && chunk.includes('pg_catalog.pg_type')) {
        resets++;
        client.resetAndDestroy();
        return;
      }
      server.write(chunk);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  const proxied = new URL(url);
  proxied.port = String((proxy.address() as { port: number }).port);
  const sql = createSql(proxied.toString(), { max: 1 });
  t.teardown(async () => {
    process.off('unhandledRejection', onUnhandled);
    await sql.end({ timeout: 1 });
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => proxy.close(resolve));
  });

  await t.rejects(sql`select 1`, 'the query on the lost connection fails');
  // Arrays need the fetched types: this shows the new connection fetched them again.
  const [row] = await sql`select ${['a', 'b']}::text[] as letters`;
  t.same(row.letters, ['a', 'b'], 'the next query reconnects, with array types');
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(resets, 1, 'the proxy reset the connection during the types query');
  t.same(unhandled, [], 'no unhandled rejection');
});
