// Group commit for postings (issue 7). A durable commit costs an fsync, a hot stock row stays
// locked through it, and on this kind of machine every database round trip costs the server far
// more CPU than the work it carries. So postings are queued and applied together: one transaction
// per batch, in which the Idempotency-Keys are claimed in one statement, the operation's batch
// executor plans every posting against rows it loads (and locks, in a fixed order) once and writes
// them all in one go (a refused posting changes nothing and does not fail its neighbours), the
// answers are stored in one statement, and one commit makes them durable. Each request still gets
// its own exact response, and only after the commit that contains its posting.
//
// Batching is adaptive: with a free slot a posting starts at once (a batch of one when the server
// is quiet); while `maxInFlight` batches run, arrivals queue up and form the next batch, of at
// most `maxBatch`: a freed slot that took the whole queue would leave the next one nearly empty
// (docs/benchmarks.md, "A cap on the batch").
import { Histogram, type Registry } from 'prom-client';
import { allInOrder, inPipelinedTransaction, type Db, type Sql } from '../../db/client.ts';
import { ProblemError } from '../problem.ts';
import {
  claimKeys,
  isStoredOutcome,
  releaseKeys,
  replayFor,
  reusedKeyProblem,
  scopeId,
  storeResponses,
  type EarlierUse,
  type IdempotencyScope,
  type StoredResponse,
} from './idempotency.ts';

export type Outcome = StoredResponse & { replayed?: boolean };

/**
 * Runs many requests of one operation on one transaction. `run` resolves to which of them to run
 * (those whose Idempotency-Key this batch owns); it resolves while the executor loads its state.
 * Per request: its result, the ProblemError that refused it, or undefined when not run; and the
 * executor's writes, sent but maybe not finished, so that the answers and COMMIT follow at once.
 */
export type BatchExecutor<Context, Result> = (
  db: Db,
  contexts: Context[],
  run: Promise<boolean[]>,
) => Promise<{ results: (Result | ProblemError | undefined)[]; written: Promise<void> }>;

export interface PostingJob<Context, Result> {
  scope: IdempotencyScope;
  /** The handler context of this request, on the batch's transaction. */
  context(db: Db): Context;
  outcome(result: Result): Outcome;
  /** The response form of a ProblemError (409/422 are stored and replayed). */
  problem(err: ProblemError): Outcome;
}

interface Queued<C, R> {
  job: PostingJob<C, R>;
  /** When it was submitted (performance.now()). */
  queuedAt: number;
  resolve(outcome: Outcome): void;
  reject(err: unknown): void;
}

type Answer = Outcome | { error: unknown };

/** The answer to a request under a key an earlier request used. */
function replayAnswer(earlier: EarlierUse, fingerprint: string): Answer {
  const replay = replayFor(earlier, fingerprint);
  return replay instanceof ProblemError ? { error: replay } : { ...replay, replayed: true };
}

export interface GroupCommitOptions {
  maxBatch: number;
  maxInFlight: number;
}

type Metrics = { sizes: Histogram; seconds: Histogram; waits: Histogram };
const registered = new WeakMap<Registry, Metrics>();

/** Batch sizes, batch durations and queue waits, shared by every queue of a server (one registry). */
function metricsFor(registry: Registry): Metrics {
  let metrics = registered.get(registry);
  if (metrics) return metrics;
  const buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
  metrics = {
    sizes: new Histogram({
      name: 'posting_batch_size',
      help: 'Postings applied per group-commit transaction',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers: [registry],
    }),
    seconds: new Histogram({
      name: 'posting_batch_duration_seconds',
      help: 'Time from starting a group-commit transaction to its commit',
      buckets,
      registers: [registry],
    }),
    // Grows when postings arrive faster than batches commit: the first sign of a saturated server.
    waits: new Histogram({
      name: 'posting_queue_wait_seconds',
      help: 'Time a posting waited in the queue for its group-commit transaction to start',
      buckets,
      registers: [registry],
    }),
  };
  registered.set(registry, metrics);
  return metrics;
}

export class PostingQueue<C, R> {
  private readonly queue: Queued<C, R>[] = [];
  private inFlight = 0;
  private readonly metrics: Metrics;

  constructor(
    private readonly sql: Sql,
    private readonly execute: BatchExecutor<C, R>,
    private readonly options: GroupCommitOptions,
    registry: Registry,
  ) {
    this.metrics = metricsFor(registry);
  }

  submit(job: PostingJob<C, R>): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject, queuedAt: performance.now() });
      this.startBatches();
    });
  }

  private startBatches() {
    while (this.inFlight < this.options.maxInFlight && this.queue.length) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.inFlight++;
      this.metrics.sizes.observe(batch.length);
      const now = performance.now();
      for (const q of batch) this.metrics.waits.observe((now - q.queuedAt) / 1000);
      const stopTimer = this.metrics.seconds.startTimer();
      void this.runBatch(batch).finally(() => {
        stopTimer();
        this.inFlight--;
        this.startBatches();
      });
    }
  }

  private async runBatch(batch: Queued<C, R>[]) {
    let answers: Map<Queued<C, R>, Answer>;
    try {
      answers = await inPipelinedTransaction(this.sql, (tx, commit) =>
        this.apply(tx, commit, batch),
      );
    } catch (err) {
      for (const q of batch) q.reject(err);
      return;
    }
    for (const q of batch) {
      const answer = answers.get(q)!;
      if ('error' in answer) q.reject(answer.error);
      else q.resolve(answer);
    }
  }

  /**
   * The batch's transaction, in two round trips: [BEGIN, claim the keys, load] then [write, store
   * the answers, COMMIT] (plus one reading what earlier uses left, when a key was used before).
   * May run more than once (retries), so it keeps no state outside.
   */
  private async apply(
    tx: Db,
    commit: () => Promise<unknown>,
    batch: Queued<C, R>[],
  ): Promise<Map<Queued<C, R>, Answer>> {
    const answers = new Map<Queued<C, R>, Answer>();
    // The first request of each key in the batch owns it; later ones with the same key get its answer.
    const ownerOf = new Map<string, Queued<C, R>>();
    for (const q of batch)
      if (!ownerOf.has(scopeId(q.job.scope))) ownerOf.set(scopeId(q.job.scope), q);
    const owners = [...ownerOf.values()];
    const claims = claimKeys(
      tx,
      owners.map((q) => q.job.scope),
    );
    const running = claims.then((earlier) => owners.map((q) => !earlier.has(scopeId(q.job.scope))));
    const [earlier, { results, written }] = await allInOrder([
      claims,
      this.execute(
        tx,
        owners.map((q) => q.job.context(tx)),
        running,
      ),
    ]);

    const stored: { scope: IdempotencyScope; response: StoredResponse }[] = [];
    const released: IdempotencyScope[] = [];
    // A key used before this batch answers each of its requests by that use, whatever the others sent.
    for (const q of batch) {
      const found = earlier.get(scopeId(q.job.scope));
      if (found) answers.set(q, replayAnswer(found, q.job.scope.fingerprint));
    }
    owners.forEach((q, i) => {
      if (answers.has(q)) return;
      const result = results[i]!;
      if (result instanceof ProblemError && !isStoredOutcome(result.status)) {
        answers.set(q, { error: result });
        released.push(q.job.scope);
        return;
      }
      const outcome =
        result instanceof ProblemError ? q.job.problem(result) : q.job.outcome(result);
      answers.set(q, outcome);
      stored.push({ scope: q.job.scope, response: outcome });
    });
    await allInOrder([
      written,
      storeResponses(tx, stored)?.execute(),
      releaseKeys(tx, released)?.execute(),
      commit(),
    ]);

    for (const q of batch) {
      if (answers.has(q)) continue;
      const owner = ownerOf.get(scopeId(q.job.scope))!;
      const answer = answers.get(owner)!;
      if (owner.job.scope.fingerprint !== q.job.scope.fingerprint)
        answers.set(q, { error: reusedKeyProblem() });
      else answers.set(q, 'error' in answer ? answer : { ...answer, replayed: true });
    }
    return answers;
  }
}
