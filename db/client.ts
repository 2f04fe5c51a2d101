import postgres from 'postgres';

// The default type parameter: no custom types in the typed helpers (see createSql).
export type Sql = postgres.Sql;
export type Tx = postgres.TransactionSql;
/** What queries take: the pool or a transaction. */
export type Db = postgres.ISql;

// Money columns are selected as ::text by the queries, so the only numeric/int8
// values reaching JS are quantities and counts, where a plain number is what the
// handlers and the JSON responses want (postgres.js would otherwise return strings).
const asNumber = (oid: number) => ({
  to: oid,
  from: [oid],
  serialize: (v: number | bigint | string) => String(v),
  parse: (raw: string) => Number(raw),
});

// A timestamptz(3) in a UTC session: 'YYYY-MM-DD HH:MM:SS[.f{1,3}]+00'.
const UTC_TIMESTAMP = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,3}))?\+00$/;

/**
 * PostgreSQL's timestamp text as RFC 3339 with milliseconds, exactly as `new Date(raw).toISOString()`
 * would give it, but by rewriting the text: parsing a date took ~1.4 us, this ~0.2 us, and a page
 * of 100 stock moves has 100 of them. Anything else (another time zone, more digits) is parsed.
 */
export function rfc3339(raw: string): string {
  const m = UTC_TIMESTAMP.exec(raw);
  return m ? `${m[1]}T${m[2]}.${(m[3] ?? '').padEnd(3, '0')}Z` : new Date(raw).toISOString();
}

export function createSql(url: string, opts: { max?: number; application?: string } = {}): Sql {
  const sql = postgres(url, {
    max: opts.max ?? 10,
    // NOTICEs ("relation already exists, skipping", ...) are noise in logs and tests.
    onnotice: () => {},
    types: {
      numeric: asNumber(1700),
      int8: asNumber(20),
      // Timestamps leave as RFC 3339 strings (what the API returns); columns are timestamptz(3),
      // so the millisecond precision of JS loses nothing (keyset cursors compare exactly).
      timestamptz: {
        to: 1184,
        from: [1184],
        serialize: (v: Date | string) => (v instanceof Date ? v.toISOString() : v),
        parse: rfc3339,
      },
      // Calendar dates stay 'YYYY-MM-DD'.
      date: { to: 1082, from: [1082], serialize: (v: string) => v, parse: (raw: string) => raw },
    },
    // UTC, so that timestamps arrive in the form rfc3339() rewrites without parsing a date.
    connection: { application_name: opts.application ?? 'inventory-api', TimeZone: 'UTC' },
    // While the database is unreachable, fail fast (503 to clients) instead of queueing: postgres.js
    // holds queued queries across reconnect attempts, with a default backoff growing to 20 s.
    connect_timeout: 2,
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 0.5),
  });
  // Registering custom types only widens the typed helpers (sql.typed.numeric);
  // callers never use those, so expose the plain type everybody imports.
  return sql as unknown as Sql;
}

/**
 * DROP DATABASE IF EXISTS ... WITH (FORCE), for the tests and the benchmark, which drop databases a
 * server may still be connected to. FORCE must terminate every backend in the database; a role
 * that is not superuser (as in CI) may not terminate an autovacuum worker, which belongs to no
 * role, so while one runs there FORCE fails with 42501. It is retried until the worker is done
 * (moments, on these databases), every 250 ms for up to 10 s.
 */
export async function dropDatabase(admin: Sql, name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await admin`DROP DATABASE IF EXISTS ${admin(name)} WITH (FORCE)`;
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== '42501' || attempt === 40) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/**
 * Promise.all for statements pipelined on one transaction, listed in the order they were sent;
 * when several fail, it throws the error of the first. Once a statement fails, PostgreSQL answers
 * every later one with 25P02 ("current transaction is aborted"), and with Promise.all that answer
 * can win the race when the statement that failed is awaited through more promise steps (an async
 * wrapper), hiding a retryable conflict behind an error that is not.
 */
export async function allInOrder<T extends readonly unknown[] | []>(
  values: T,
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = await Promise.allSettled(values);
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as {
    -readonly [K in keyof T]: Awaited<T[K]>;
  };
}

/** Serialization failures and deadlocks are safe to retry as a whole transaction. */
export function isRetryable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '40001' || code === '40P01';
}

/**
 * Errors that mean the database cannot be reached, or refuses connections or writes, right now:
 * the network's and the driver's, SQLSTATE class 08 (connection exception), shutdowns (57P0x),
 * too many connections (53300), and a read-only server after a failover (25006).
 */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  '57P01',
  '57P02',
  '57P03',
  '57P05',
  '53300',
  '25006',
]);

export function isUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'));
}

export type Isolation = 'read committed' | 'repeatable read' | 'serializable';

/**
 * Runs attempt until it succeeds, again on serialization failure or deadlock (up to `retries`
 * more times), with full-jitter backoff so colliding transactions don't collide again in lockstep.
 */
export async function retryOnConflict<T>(attempt: () => Promise<T>, retries: number): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (!isRetryable(err) || n >= retries) throw err;
      await new Promise((r) => setTimeout(r, 1 + Math.random() * Math.min(250, 5 * 2 ** n)));
    }
  }
}

/**
 * Runs fn in a transaction and re-runs the whole of it on serialization failure
 * or deadlock. fn may therefore run more than once: keep side effects outside
 * the database (HTTP calls, timers) out of it.
 */
export function inTransaction<T>(
  sql: Sql,
  fn: (tx: Tx) => Promise<T>,
  { retries = 5, isolation }: { retries?: number; isolation?: Isolation } = {},
): Promise<T> {
  const run = (tx: Tx) => fn(tx);
  return retryOnConflict(
    async () =>
      (await (isolation ? sql.begin(`isolation level ${isolation}`, run) : sql.begin(run))) as T,
    retries,
  );
}
