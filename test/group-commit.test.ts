// The group-commit queue itself (server/plugins/group-commit.ts), driven directly so that which
// requests share a batch is certain: with one batch in flight, what is submitted meanwhile forms
// the next batches, of at most maxBatch each (and which of them waited for it, for
// posting_queue_wait_seconds).
import t from 'tap';
import { Registry } from 'prom-client';
import { PostingQueue, type PostingJob } from '../server/plugins/group-commit.ts';
import type { ProblemError } from '../server/problem.ts';
import { freshDatabase } from './helpers/db.ts';

const job = (key: string, body: string): PostingJob<string, string> => ({
  scope: {
    clientId: 'client',
    operationId: 'createThing',
    key,
    fingerprint: `fingerprint of ${body}`,
  },
  context: () => body,
  outcome: (result) => ({ status: 201, body: { result }, headers: {} }),
  problem: (err) => ({ status: err.status, body: { slug: err.slug }, headers: {} }),
});

t.test(
  "requests sharing a batch under a key used before are each answered by that use, and each posting's queue wait is measured",
  async (t) => {
    const { sql } = await freshDatabase(t);
    let gate = Promise.resolve();
    let holding!: () => void;
    const held = new Promise<void>((resolve) => (holding = resolve));
    const executed: string[][] = [];
    const registry = new Registry();
    const queue = new PostingQueue<string, string>(
      sql,
      async (_db, bodies, run) => {
        const runs = await run;
        if (bodies.includes('hold')) holding();
        await gate;
        executed.push(bodies.filter((_, i) => runs[i]));
        return {
          results: bodies.map((body, i) => (runs[i] ? `done ${body}` : undefined)),
          written: Promise.resolve(),
        };
      },
      { maxBatch: 64, maxInFlight: 1 },
      registry,
    );

    t.match(
      await queue.submit(job('K', 'A')),
      { status: 201, body: { result: 'done A' } },
      'key K is first used with body A',
    );

    let open!: () => void;
    gate = new Promise((resolve) => (open = resolve));
    const holder = queue.submit(job('H', 'hold'));
    await held;
    // Queued behind the held batch, so they form the next one together; the one with another body comes first.
    const other = queue.submit(job('K', 'B')).then(
      () => null,
      (err: ProblemError) => err,
    );
    const same = queue.submit(job('K', 'A'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    open();
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
    let holding!: () => void;
    const held = new Promise<void>((resolve) => (holding = resolve));
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const executed: string[][] = [];
    const queue = new PostingQueue<string, string>(
      sql,
      async (_db, bodies, run) => {
        await run;
        if (bodies.includes('hold')) {
          holding();
          await gate;
        }
        executed.push(bodies);
        return { results: bodies.map((body) => `done ${body}`), written: Promise.resolve() };
      },
      { maxBatch: 2, maxInFlight: 1 },
      new Registry(),
    );
    const holder = queue.submit(job('H', 'hold'));
    await held;
    const queued = ['a', 'b', 'c', 'd', 'e'].map((body) => queue.submit(job(body, body)));
    open();
    await Promise.all([holder, ...queued]);
    t.same(
      executed,
      [['hold'], ['a', 'b'], ['c', 'd'], ['e']],
      'five queued postings: batches of two, two and one, in order',
    );
  },
);
