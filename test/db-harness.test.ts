import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { createSql, inTransaction, rfc3339, type Sql } from '../db/client.ts';
import { migrate } from '../db/migrate.ts';
import { inPipelinedTransaction } from '../server/writes/transaction.ts';
import { freshDatabase } from './helpers/db.ts';
import { proxyTo } from './helpers/proxy.ts';

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

t.test(
  'timestamps come back as RFC 3339 with milliseconds, whatever their precision or zone',
  async (t) => {
    const { sql } = await freshDatabase(t);
    const [row] = await sql`select
    '2026-01-02 03:04:05.1+00'::timestamptz(3) as tenths, '2026-01-02 03:04:05.12+00'::timestamptz(3) as hundredths,
    '2026-01-02 03:04:05.123+00'::timestamptz(3) as millis, '2026-01-02 03:04:05+00'::timestamptz(3) as whole,
    '2026-01-02 03:04:05.123456+00'::timestamptz as micros, '2026-06-01 12:00:00.5+02'::timestamptz(3) as zoned`;
    t.same(
      { ...row },
      {
        tenths: '2026-01-02T03:04:05.100Z',
        hundredths: '2026-01-02T03:04:05.120Z',
        millis: '2026-01-02T03:04:05.123Z',
        whole: '2026-01-02T03:04:05.000Z',
        micros: '2026-01-02T03:04:05.123Z',
        zoned: '2026-06-01T10:00:00.500Z',
      },
    );
    // Text in another zone (say, through a pooler that drops the session's TimeZone) is parsed, to the same instants.
    t.equal(rfc3339('2026-06-01 12:00:00.5+02'), '2026-06-01T10:00:00.500Z');
    t.equal(rfc3339('2026-06-01 12:00:00-03:30'), '2026-06-01T15:30:00.000Z');
  },
);

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
    t.ok(
      a.length === 0 || b.length === 0,
      'the second waited for the lock, then found nothing to do',
    );
    const recorded =
      await one`select name from schema_migrations where name = any(${FIXTURE_NAMES}) order by name`;
    t.same(
      recorded.map((r) => r.name),
      FIXTURE_NAMES,
    );
    const marks = await one`select file from harness_fixture.applied order by file`;
    t.same(
      marks.map((r) => r.file),
      ['0001', '0002'],
    );
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
    if (calls < 3)
      throw Object.assign(new Error('conflict'), { code: calls === 1 ? '40001' : '40P01' });
    return 'done';
  });
  t.equal(result, 'done');
  t.equal(calls, 3);
  t.same(
    (await sql`select n from counter`).map((r) => r.n),
    [3],
    'failed attempts were rolled back',
  );

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

// Patched driver faults (patches/postgres+3.4.9.patch). Each of these hung or crashed the server
// when PostgreSQL restarted; see docs/security.md.

/** p, or a rejection naming what did not settle within ms. */
function settlesWithin<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle in ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** A pool of one connection, so that a connection lost or leaked shows at the next query. */
function poolOfOne(t: Test, url: string): Sql {
  const sql = createSql(url, { max: 1 });
  t.teardown(() => sql.end({ timeout: 1 }));
  return sql;
}

// postgres.js fetches array types as the first statement of every new connection, and dropped
// that promise: a connection lost at that moment crashed the process with an unhandled rejection
// (porsager/postgres#1192).
t.test(
  'a connection lost while postgres.js fetches types fails its query, not the process',
  async (t) => {
    const { url } = await freshDatabase(t);
    let resets = 0;
    const proxy = await proxyTo(t, url, (chunk, client) => {
      if (resets > 0 || !chunk.includes('pg_catalog.pg_type')) return true;
      resets++;
      client.resetAndDestroy();
      return false;
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    t.teardown(() => {
      process.off('unhandledRejection', onUnhandled);
    });
    const sql = poolOfOne(t, proxy.url);

    await t.rejects(sql`select 1`, 'the query on the lost connection fails');
    // Arrays need the fetched types: this shows the new connection fetched them again.
    const [row] = await sql`select ${['a', 'b']}::text[] as letters`;
    t.same(row.letters, ['a', 'b'], 'the next query reconnects, with array types');
    await new Promise((resolve) => setImmediate(resolve));
    t.equal(resets, 1, 'the proxy reset the connection during the types query');
    t.same(unhandled, [], 'no unhandled rejection');
  },
);

// Group commit runs on sql.reserve(). A reserved connection that closed went back to the pool as
// open on release(), and the queries later given to it never settled (porsager/postgres#1199); its
// later queries went to it while it reconnected for the next queued query (#1186); and the new
// connection failed its first query with the old backend's 57P01 (#1223).
t.test('a reserved connection that closes fails its queries, and the pool recovers', async (t) => {
  const { url, sql: admin } = await freshDatabase(t);
  const sql = poolOfOne(t, url);
  const tx = await sql.reserve();
  const [{ pid }] = await tx`select pg_backend_pid() as pid`;
  const running = tx`select pg_sleep(30)`;
  running.catch(() => {});
  // The pool's one connection is reserved, so this waits; the close hands the connection to it.
  const queued = sql`select 1 as one`;
  queued.catch(() => {});
  await admin`select pg_terminate_backend(${pid})`;
  await t.rejects(settlesWithin(running, 5000, 'the query in flight'), 'the query in flight fails');
  await t.rejects(
    settlesWithin(tx`select 1`, 5000, 'a query after the close'),
    { code: 'CONNECTION_CLOSED' },
    'a query after the close fails, rather than going to the reconnecting connection',
  );
  tx.release();
  const [row] = await settlesWithin(queued, 5000, 'the queued query');
  t.equal(row.one, 1, 'the query waiting for the connection runs on it once reconnected');
  const [next] = await settlesWithin(sql`select 1 as one`, 5000, 'the next pooled query');
  t.equal(next.one, 1, 'and so does the next pooled query');
  const [piped] = await settlesWithin(
    inPipelinedTransaction(sql, async (db, commit) => {
      const rows = db`select 2 as two`;
      await commit();
      return rows;
    }),
    5000,
    'the next transaction',
  );
  t.equal(piped.two, 2, 'and so does the next pipelined transaction');
});

// A reserve waiting for the connection that closed was taken off the queue and never resolved; a
// reserve that failed stayed on it, and took the next connection with it (porsager/postgres#1195).
t.test(
  'reserves survive the connection they wait for closing, and the database being down',
  async (t) => {
    const { url, sql: admin } = await freshDatabase(t);
    const proxy = await proxyTo(t, url);
    const sql = poolOfOne(t, proxy.url);
    const first = await sql.reserve();
    const [{ pid }] = await first`select pg_backend_pid() as pid`;
    const waiting = sql.reserve();
    await admin`select pg_terminate_backend(${pid})`;
    const second = await settlesWithin(waiting, 5000, 'the waiting reserve');
    first.release();
    const [row] = await settlesWithin(
      second`select 1 as one`,
      5000,
      'a query on the waiting reserve',
    );
    t.equal(row.one, 1, 'the reserve waiting on the closed connection gets a new one');
    second.release();

    const [{ pid: next }] = await sql`select pg_backend_pid() as pid`;
    proxy.refusing = true;
    await admin`select pg_terminate_backend(${next})`;
    await t.rejects(
      settlesWithin(sql`select 1`, 5000, 'a query while down'),
      'a query fails while the database is down',
    );
    await t.rejects(
      settlesWithin(sql.reserve(), 5000, 'a reserve while down'),
      'a reserve fails while the database is down',
    );
    proxy.refusing = false;
    const [again] = await settlesWithin(sql`select 2 as two`, 5000, 'a query once back');
    t.equal(again.two, 2, 'once back, the pool serves queries');
    const third = await settlesWithin(sql.reserve(), 5000, 'a reserve once back');
    third.release();
    t.pass('and reserves');
  },
);

// sql.begin() had the same fault as reserve(): after its connection closed, the ROLLBACK it sends
// went to that connection while it reconnected for the next queued query (porsager/postgres#1186).
t.test(
  'a transaction whose connection closes leaves that connection to the next query',
  async (t) => {
    const { url, sql: admin } = await freshDatabase(t);
    const sql = poolOfOne(t, url);
    let queued: Promise<unknown> | undefined;
    const transaction = sql.begin(async (tx) => {
      const [{ pid }] = await tx`select pg_backend_pid() as pid`;
      // The pool's one connection is in this transaction, so this waits for it.
      queued = sql`select 3 as three`;
      queued.catch(() => {});
      await admin`select pg_terminate_backend(${pid})`;
      await tx`select pg_sleep(30)`;
    });
    await t.rejects(settlesWithin(transaction, 5000, 'the transaction'), 'the transaction fails');
    const [row] = (await settlesWithin(queued!, 5000, 'the queued query')) as { three: number }[];
    t.equal(row.three, 3, 'the query waiting for the connection runs on it once reconnected');
  },
);

// reserve() did not check whether the pool had been ended: it connected anew and handed out a
// working connection, so a pipelined transaction still committed after sql.end() (patches/).
t.test('after end(), a reserve fails as every query does', async (t) => {
  const { url } = await freshDatabase(t);
  const sql = createSql(url, { max: 2 });
  await sql`select 1`;
  await sql.end();
  await t.rejects(sql.reserve(), { code: 'CONNECTION_ENDED' });
  await t.rejects(
    inPipelinedTransaction(sql, async (_db, commit) => commit()),
    { code: 'CONNECTION_ENDED' },
  );
});

t.test(
  'a pipelined transaction that a statement aborted unseen does not report a commit',
  async (t) => {
    const { sql } = await freshDatabase(t);
    await sql`CREATE TABLE pipelined (n int PRIMARY KEY)`;
    await t.rejects(
      inPipelinedTransaction(sql, async (db, commit) => {
        await db`INSERT INTO pipelined VALUES (1)`;
        db`INSERT INTO pipelined VALUES (1)`.execute().catch(() => {}); // fails, and nobody looks
        await commit();
      }),
      /COMMIT was answered with ROLLBACK/,
    );
    t.same(await sql`SELECT n FROM pipelined`, [], 'nothing was committed');
    await inPipelinedTransaction(sql, async (db, commit) => {
      await db`INSERT INTO pipelined VALUES (2)`;
      await commit();
    });
    t.same(
      (await sql`SELECT n FROM pipelined`).map((r) => r.n),
      [2],
      'a transaction without failures commits',
    );
  },
);

// postgres.js keeps its pool's connections in queues (patches/README.md, C8). One that never
// empties (the open connections, while fewer queries are in flight than connections) kept a slot
// for every shift for the life of the process, and remove() scanned all of them on every query.
t.test("postgres.js's queues keep only their live entries", async (t) => {
  const path = new URL('../node_modules/postgres/src/queue.js', import.meta.url).href; // the build the server loads
  const { default: Queue } = await import(path);
  const open = Queue();
  const connections = Array.from({ length: 20 }, (_, id) => open.push({ id }));
  for (let i = 0; i < 2_000_000; i++) open.push(open.shift()); // a query takes the next connection and returns it
  const slots = (open as { xs?: unknown[] }).xs?.length;
  t.ok(
    slots !== undefined && slots <= 2 * 1024,
    `${slots} slots after 2,000,000 rotations of 20 entries (unpatched: one per rotation)`,
  );
  t.equal(open.length, 20);
  const next = open.shift();
  t.equal(next, connections[0], 'first in, first out, after every compaction');
  t.equal(open.remove(next), null, 'an entry already shifted is not found');
  t.equal(open.remove(connections[5]), connections[5], 'a live entry is removed');
  t.equal(open.length, 18);
  t.same(
    Array.from({ length: 18 }, () => open.shift().id),
    [1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
  );
});
