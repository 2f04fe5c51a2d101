// The group-commit queue itself (server/writes/group-commit.ts), driven directly so that which
// requests share a batch is certain: with one batch in flight, what is submitted meanwhile forms
// the next batches, of at most maxBatch each (and which of them waited for it, for
// posting_queue_wait_seconds), and what comes beyond maxQueued is refused at once.
import t from 'tap';
import { Registry } from 'prom-client';
import {
  PostingQueue,
  type BatchHandler,
  type GroupCommitOptions,
  type PostingJob,
} from '../server/writes/group-commit.ts';
import type { ProblemError } from '../domain/problems.ts';
import type { Sql } from '../db/client.ts';
import { freshDatabase } from './helpers/db.ts';

const job = (key: string, body: string): PostingJob<string> => ({
  scope: {
    clientId: 'client',
    operationId: 'createThing',
    key,
    fingerprint: `fingerprint of ${body}`,
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
  const handler: BatchHandler<string> = {
    async load(_db, bodies) {
      const h = hold();
      if (h && bodies.includes('hold')) {
        h.reached();
        await h.gate;
      }
      return [];
    },
    run(ran, body) {
      (ran as string[]).push(body);
      return { status: 201, body: { result: `done ${body}` } };
    },
    async write(_db, ran) {
      executed.push(ran as string[]);
    },
  };
  const registry = new Registry();
  return { queue: new PostingQueue(sql, handler, options, registry), executed, registry };
}

t.test(
  "requests sharing a batch under a key used before are each answered by that use, and each posting's queue wait is measured",
  async (t) => {
    const { sql } = await freshDatabase(t);
    let hold: Hold | undefined;
    const { queue, executed, registry } = queueOf(
      sql,
      { maxBatch: 64, maxInFlight: 1, maxQueued: 64 },
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
      { maxBatch: 2, maxInFlight: 1, maxQueued: 64 },
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
      { maxBatch: 64, maxInFlight: 1, maxQueued: 2 },
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
    t.match(
      await queue.submit(job('c', 'c')),
      { status: 201, body: { result: 'done c' } },
      'retried once the queue has room, under the same key, it runs',
    );
    t.match(
      await queue.submit(job('c', 'c')),
      { status: 201, body: { result: 'done c' }, replayed: true },
      'and that key is now used',
    );
    t.same(executed, [['hold'], ['a', 'b'], ['c'], []], 'c ran once');
  },
);
