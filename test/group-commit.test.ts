// The group-commit queue itself (server/writes/group-commit.ts), driven directly so that which
// requests share a batch is certain: with one batch in flight, what is submitted meanwhile forms
// the next batches, of at most maxBatch each (and which of them waited for it, for
// posting_queue_wait_seconds), and what comes beyond maxQueued is refused at once.
import t from 'tap';
import { Registry } from 'prom-client';
import {
  PostingQueue,
  type GroupCommitOptions,
  type PostingJob,
} from '../server/writes/group-commit.ts';
import type { AnyBatched } from '../handlers/types.ts';
import { ProblemError } from '../domain/problems.ts';
import { isUnavailable, type Sql } from '../db/client.ts';
import { FailedAfterCommit } from '../server/writes/transaction.ts';
import { freshDatabase } from './helpers/db.ts';

const job = (
  key: string,
  body: string,
  warehouses: string[] | null = null,
): PostingJob<string> => ({
  scope: {
    clientId: 'client',
    sub: 'user',
    operationId: 'createThing',
    key,
    fingerprint: `fingerprint of ${body}`,
    warehouses,
  },
  context: () => body,
  problem: (err) => ({ status: err.status, body: { slug: err.slug }, headers: {} }),
});

/** A gate that a batch holding the body 'hold' waits at while it loads. */
class Hold {
  reached!: () => void;
  readonly held = new Promise<void>((resolve) => (this.reached = resolve));
  open!: () => void;
  readonly gate = new Promise<void>((resolve) => (this.open = resolve));
}

/**
 * A queue over string bodies: a batch containing 'hold' waits at the hold's gate while it loads
 * (no hold: it does not wait); each request runs as `done <body>`; each batch's write records the
 * bodies it ran in `executed`.
 */
function queueOf(sql: Sql, options: GroupCommitOptions, hold: () => Hold | undefined) {
  const executed: string[][] = [];
  let writes = 0;
  const handler: AnyBatched<string> = {
    async load(_db, bodies) {
      const h = hold();
      if (h && bodies.includes('hold')) {
        h.reached();
        await h.gate;
      }
      return [];
    },
    run(ran, body) {
      // 'forbidden…' is refused as a 403 (not stored), 'conflict…' as a 409 (stored).
      if (body.startsWith('forbidden'))
        throw new ProblemError('warehouse-forbidden', 'not yours', { warehouse_id: 'WH-X' });
      if (body.startsWith('conflict'))
        throw new ProblemError('invalid-state', 'no', { current_status: 'CLOSED' });
      // 'crash…' fails in memory with what is not a ProblemError (a bug one input triggers).
      if (body.startsWith('crash')) throw new TypeError(`cannot run ${body}`);
      (ran as string[]).push(body);
      return { status: 201, body: { result: `done ${body}` } };
    },
    async write(db, ran) {
      writes++;
      const bodies = ran as string[];
      // 'refused…' is written, but the database refuses it (as it would text it cannot store).
      // Sent at once (execute), as a batch's writes travel before its COMMIT.
      const refused = bodies.find((body) => body.startsWith('refused'));
      if (refused) await db`SELECT ${refused}::int`.execute();
      // 'gone…': the connection dies under the batch (its backend is terminated).
      if (bodies.some((body) => body.startsWith('gone')))
        await db`SELECT pg_terminate_backend(pg_backend_pid())`.execute();
      executed.push(bodies);
      // 'late…' fails after the batch's COMMIT was acknowledged.
      if (bodies.some((body) => body.startsWith('late')))
        await new Promise((_, reject) => setTimeout(() => reject(new Error('late failure')), 100));
    },
  };
  const registry = new Registry();
  return {
    queue: new PostingQueue(sql, handler, options, registry),
    executed,
    registry,
    writes: () => writes,
  };
}

t.test(
  "requests sharing a batch under a key used before are each answered by that use, and each posting's queue wait is measured",
  async (t) => {
    const { sql } = await freshDatabase(t);
    let hold: Hold | undefined;
    const { queue, executed, registry } = queueOf(
      sql,
      { maxBatch: 64, maxInFlight: 1, maxQueued: 64, idempotencyTtlH: 96 },
      () => hold,
    );

    t.match(
      await queue.submit(job('K', 'A')),
      { status: 201, body: { result: 'done A' } },
      'key K is first used with body A',
    );

    hold = new Hold();
    const holder = queue.submit(job('H', 'hold'));
    await hold.held;
    // Queued behind the held batch, so they form the next one together; the one with another body comes first.
    const other = queue.submit(job('K', 'B')).then(
      () => null,
      (err: ProblemError) => err,
    );
    const same = queue.submit(job('K', 'A'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    hold.open();
    await holder;

    t.equal(
      (await other)?.slug,
      'idempotency-key-reused',
      'K with body B: 422 idempotency-key-reused',
    );
    t.match(
      await same,
      { status: 201, body: { result: 'done A' }, replayed: true },
      'K with body A: the stored response, replayed',
    );
    t.same(executed, [['A'], ['hold'], []], 'nothing was executed for either');

    // /metrics: each posting's wait for its batch to start; the two queued behind the held batch waited ≥ 50 ms.
    const text = await registry.getSingleMetricAsString('posting_queue_wait_seconds');
    const value = (series: string) =>
      Number(new RegExp(`^posting_queue_wait_seconds_${series} (\\S+)$`, 'm').exec(text)?.[1]);
    t.equal(value('count'), 4, 'a wait per posting');
    t.equal(value('bucket\\{le="0.025"\\}'), 2, 'two started at once');
    t.ok(value('sum') >= 0.1, 'two waited out the held batch');
  },
);

t.test(
  'a batch takes at most maxBatch postings from the queue; the rest form the batches after it',
  async (t) => {
    const { sql } = await freshDatabase(t);
    const hold = new Hold();
    const { queue, executed } = queueOf(
      sql,
      { maxBatch: 2, maxInFlight: 1, maxQueued: 64, idempotencyTtlH: 96 },
      () => hold,
    );
    const holder = queue.submit(job('H', 'hold'));
    await hold.held;
    const queued = ['a', 'b', 'c', 'd', 'e'].map((body) => queue.submit(job(body, body)));
    hold.open();
    await Promise.all([holder, ...queued]);
    t.same(
      executed,
      [['hold'], ['a', 'b'], ['c', 'd'], ['e']],
      'five queued postings: batches of two, two and one, in order',
    );
  },
);

t.test(
  'beyond maxQueued a posting is refused at once with 503 overloaded, and its key stays free',
  async (t) => {
    const { sql } = await freshDatabase(t);
    const hold = new Hold();
    const { queue, executed } = queueOf(
      sql,
      { maxBatch: 64, maxInFlight: 1, maxQueued: 2, idempotencyTtlH: 96 },
      () => hold,
    );
    const holder = queue.submit(job('H', 'hold'));
    await hold.held;
    const queued = [queue.submit(job('a', 'a')), queue.submit(job('b', 'b'))];
    const refused = (await queue
      .submit(job('c', 'c'))
      .catch((err: ProblemError) => err)) as ProblemError;
    t.equal(refused.slug, 'overloaded', 'the third to wait is refused');
    t.equal(refused.status, 503);
    t.same(refused.headers, { 'Retry-After': '1' }, 'with Retry-After');
    hold.open();
    await Promise.all([holder, ...queued]);
    t.same(executed, [['hold'], ['a', 'b']], 'the refused posting never ran');
    const retried = await queue.submit(job('c', 'c'));
    t.match(
      retried,
      { status: 201, body: { result: 'done c' } },
      'retried once the queue has room, under the same key, it runs',
    );
    t.notOk(retried.replayed, 'as a first execution');
    t.match(
      await queue.submit(job('c', 'c')),
      { status: 201, body: { result: 'done c' }, replayed: true },
      'and that key is now used',
    );
    t.same(executed, [['hold'], ['a', 'b'], ['c'], []], 'c ran once');
  },
);

t.test(
  'requests sharing a new key within one batch: the first runs, the rest get its answer, or 422 for another body',
  async (t) => {
    const { sql } = await freshDatabase(t);
    const hold = new Hold();
    const { queue, executed } = queueOf(
      sql,
      { maxBatch: 64, maxInFlight: 1, maxQueued: 64, idempotencyTtlH: 96 },
      () => hold,
    );
    const holder = queue.submit(job('H', 'hold'));
    await hold.held;
    const settle = (p: Promise<unknown>) =>
      p.then(
        (o) => o,
        (err: ProblemError) => err,
      );
    // Queued behind the held batch, so each group below shares the next batch.
    const ok = [job('K1', 'a'), job('K1', 'a'), job('K1', 'b')].map((j) => settle(queue.submit(j)));
    const stored = [job('K2', 'conflict'), job('K2', 'conflict')].map((j) =>
      settle(queue.submit(j)),
    );
    const refused = [job('K3', 'forbidden'), job('K3', 'forbidden')].map((j) =>
      settle(queue.submit(j)),
    );
    hold.open();
    await holder;

    const [first, again, other] = await Promise.all(ok);
    t.match(first, { status: 201, body: { result: 'done a' } }, 'the first with K1 runs');
    t.notOk((first as { replayed?: boolean }).replayed);
    t.match(
      again,
      { status: 201, body: { result: 'done a' }, replayed: true },
      'the same body: its answer, replayed',
    );
    t.equal((other as ProblemError).slug, 'idempotency-key-reused', 'another body: 422');
    const [conflict, conflictAgain] = await Promise.all(stored);
    t.match(
      conflict,
      { status: 409, body: { slug: 'invalid-state' } },
      'a 409 is an answer, stored',
    );
    t.match(conflictAgain, { status: 409, replayed: true }, 'and replayed to the second');
    const [forbidden, forbiddenAgain] = await Promise.all(refused);
    t.equal((forbidden as ProblemError).slug, 'warehouse-forbidden', 'a 403 is not stored');
    t.equal((forbiddenAgain as ProblemError).slug, 'warehouse-forbidden', 'the second gets it too');
    t.same(executed, [['hold'], ['a']], 'one execution between them');

    const [row] = await sql`SELECT count(*)::int AS n FROM idempotency_keys WHERE key = 'K3'`;
    t.equal(row.n, 0, "the 403's key was released: a retry runs again");
    const [k2] = await sql`SELECT status FROM idempotency_keys WHERE key = 'K2'`;
    t.equal(k2.status, 409, "the 409's answer is kept under its key");
  },
);

t.test(
  'a member that fails its batch for any reason fails alone: every other member of the batch is applied',
  async (t) => {
    const { sql } = await freshDatabase(t);
    const bodies = ['a', 'crash-1', 'b', 'c', 'refused-1', 'd', 'e', 'f'];
    const { answers, executed } = await inOneBatch(
      sql,
      bodies.map((body) => job(body, body)),
    );
    bodies.forEach((body, i) => {
      if (body === 'crash-1' || body === 'refused-1')
        t.ok(answers[i] instanceof Error, `${body} gets its own error`);
      else t.match(answers[i], { status: 201, body: { result: `done ${body}` } }, `${body}: 201`);
    });
    t.same(
      executed.flat().filter((b) => b !== 'hold'),
      ['a', 'b', 'c', 'd', 'e', 'f'],
      'each valid posting was applied exactly once, in order',
    );
    const keys = await sql`SELECT key, status FROM idempotency_keys WHERE key <> 'H' ORDER BY key`;
    t.same(
      keys.map((k) => `${k.key}:${k.status}`),
      ['a:201', 'b:201', 'c:201', 'd:201', 'e:201', 'f:201'],
      'the failed ones hold no key: their retries run again',
    );
  },
);

/** Submits behind a held batch, so that all of `jobs` share the next batch; their settled answers. */
async function inOneBatch(sql: Sql, jobs: PostingJob<string>[]) {
  const hold = new Hold();
  const q = queueOf(
    sql,
    { maxBatch: 64, maxInFlight: 1, maxQueued: 64, idempotencyTtlH: 96 },
    () => hold,
  );
  const holder = q.queue.submit(job('H', 'hold'));
  await hold.held;
  const settled = jobs.map((j) =>
    q.queue.submit(j).then(
      (o) => o,
      (err: Error) => err,
    ),
  );
  hold.open();
  await holder;
  return { answers: await Promise.all(settled), ...q };
}

t.test(
  'a later request of a key in the same batch gets the answer only within the claim the first was made with',
  async (t) => {
    const { sql } = await freshDatabase(t);
    const { answers } = await inOneBatch(sql, [
      job('K', 'a', ['WH-A', 'WH-B']),
      job('K', 'a', ['WH-A']),
      job('K', 'a', ['WH-A', 'WH-B', 'WH-C']),
    ]);
    t.match(answers[0], { status: 201, body: { result: 'done a' } });
    t.match(answers[1], { slug: 'warehouse-forbidden', extensions: { warehouse_id: 'WH-B' } });
    t.match(answers[2], { status: 201, replayed: true }, 'a wider claim gets the replay');
  },
);

t.test('a batch whose database is unreachable fails whole, without being split', async (t) => {
  const { sql } = await freshDatabase(t);
  const { answers, writes } = await inOneBatch(sql, [
    job('a', 'a'),
    job('g', 'gone'),
    job('b', 'b'),
  ]);
  t.ok(
    answers.every((a) => isUnavailable(a)),
    'each posting gets the connection error (503 for its client, whose retry runs)',
  );
  t.equal(writes(), 2, "the held batch's write and this batch's, once: no halves were tried");
});

t.test(
  'a batch that failed after its COMMIT is not run again: its answers wait under their keys',
  async (t) => {
    const { sql } = await freshDatabase(t);
    const { answers, executed, queue } = await inOneBatch(sql, [
      job('a', 'a'),
      job('l', 'late'),
      job('b', 'b'),
    ]);
    t.ok(
      answers.every((a) => a instanceof FailedAfterCommit),
      'each posting fails (500), none is run again',
    );
    t.same(executed, [['hold'], ['a', 'late', 'b']], 'written once');
    t.match(
      await queue.submit(job('b', 'b')),
      { status: 201, body: { result: 'done b' }, replayed: true },
      "a client's retry gets the committed answer",
    );
  },
);
