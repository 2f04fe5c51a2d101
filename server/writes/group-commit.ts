// Group commit, for the operations whose handler is Batched (handlers/types.ts). A durable commit
// costs an fsync, a hot stock row stays locked through it, and every database round trip costs the
// server more CPU than the work it carries. So requests are queued and applied together: one
// transaction per batch, in two round trips whatever its size, and each request still gets its own
// exact answer, only after the commit that contains it (docs/decisions/0001).
//
// Batching is adaptive: with a free slot a request starts at once (a batch of one when the server
// is quiet); while `maxInFlight` batches run, arrivals queue up and form the next batch, of at most
// `maxBatch`: a freed slot that took the whole queue would leave the next one nearly empty
// (docs/decisions/0002). The queue holds at most `maxQueued`; beyond that a request is refused at
// once with 503 `overloaded`, as waiting longer than a client's timeout helps nobody.
import { Histogram, type Registry } from 'prom-client';
import { allInOrder, isUnavailable, type Db, type Sql } from '../../db/client.ts';
import { ProblemError } from '../../domain/problems.ts';
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
import type { AnyBatched } from '../../handlers/types.ts';
import { outcomeOf, type Outcome, type WriteRequest } from './outcome.ts';
import { FailedAfterCommit, inPipelinedTransaction } from './transaction.ts';

/** A request in the queue: a write request that has its key (group commit requires one). */
export type PostingJob<C> = WriteRequest<C> & { scope: IdempotencyScope };

export interface GroupCommitOptions {
  maxBatch: number;
  maxInFlight: number;
  maxQueued: number;
  /** How long a claimed Idempotency-Key is kept (IDEMPOTENCY_TTL_H). */
  idempotencyTtlH: number;
}

interface Queued<C> {
  job: PostingJob<C>;
  /** When it was submitted (performance.now()). */
  queuedAt: number;
  resolve(outcome: Outcome): void;
  reject(err: unknown): void;
}

type Answer = Outcome | { error: unknown };

/** The answer to a request whose key a request before this batch used. */
function replayAnswer(job: PostingJob<unknown>, earlier: EarlierUse): Answer {
  const replay = replayFor(earlier, job.scope);
  return replay instanceof ProblemError ? { error: replay } : { ...replay, replayed: true };
}

function overloaded(): ProblemError {
  return new ProblemError(
    'overloaded',
    'The server has more postings waiting than it accepts; this one was not applied. Retry after Retry-After seconds with the same Idempotency-Key.',
    {},
    { 'Retry-After': '1' },
  );
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
      help: 'Requests (stock moves, reservations) applied per group-commit transaction',
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

export class PostingQueue<C> {
  private readonly queue: Queued<C>[] = [];
  private inFlight = 0;
  private readonly metrics: Metrics;

  constructor(
    private readonly sql: Sql,
    private readonly handler: AnyBatched<C>,
    private readonly options: GroupCommitOptions,
    registry: Registry,
  ) {
    this.metrics = metricsFor(registry);
  }

  /** Its outcome once the batch it joins has committed; rejects with `overloaded` when full. */
  submit(job: PostingJob<C>): Promise<Outcome> {
    const full =
      this.inFlight >= this.options.maxInFlight && this.queue.length >= this.options.maxQueued;
    if (full) return Promise.reject(overloaded());
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

  private async runBatch(batch: Queued<C>[]) {
    let answers: Map<Queued<C>, Answer>;
    try {
      answers = await inPipelinedTransaction(this.sql, (tx, commit) =>
        this.apply(tx, commit, batch),
      );
    } catch (err) {
      // One member can fail a whole batch: text the database refuses, a constraint, a bug one
      // input triggers. Unless the database itself is gone, or the batch committed after all,
      // each half is tried again on its own, down to the member that fails alone, so that no
      // request fails because of another.
      if (batch.length > 1 && !isUnavailable(err) && !(err instanceof FailedAfterCommit)) {
        const half = Math.ceil(batch.length / 2);
        await this.runBatch(batch.slice(0, half));
        await this.runBatch(batch.slice(half));
        return;
      }
      for (const q of batch) q.reject(err);
      return;
    }
    for (const q of batch) {
      const answer = answers.get(q) ?? { error: new Error('a posting of the batch got no answer') };
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
    batch: Queued<C>[],
  ): Promise<Map<Queued<C>, Answer>> {
    // The first request of each key in the batch owns it; later ones with the same key get its answer.
    const ownerOf = new Map<string, Queued<C>>();
    for (const q of batch)
      if (!ownerOf.has(scopeId(q.job.scope))) ownerOf.set(scopeId(q.job.scope), q);
    const owners = [...ownerOf.values()];
    const contexts = owners.map((q) => q.job.context(tx));

    // Round trip 1: claim the keys, and load what every owner's request needs.
    const [earlier, state] = await allInOrder([
      claimKeys(
        tx,
        owners.map((q) => q.job.scope),
        this.options.idempotencyTtlH,
      ),
      this.handler.load(tx, contexts),
    ]);

    // A key used before this batch answers each of its requests by that use, whatever they sent.
    const answers = new Map<Queued<C>, Answer>();
    for (const q of batch) {
      const found = earlier.get(scopeId(q.job.scope));
      if (found) answers.set(q, replayAnswer(q.job, found));
    }

    // In memory: each owner's request in turn, against the state the ones before it left.
    const stored: { scope: IdempotencyScope; response: StoredResponse }[] = [];
    const released: IdempotencyScope[] = [];
    owners.forEach((q, i) => {
      if (answers.has(q)) return;
      const answer = this.runOne(state, contexts[i], q.job);
      answers.set(q, answer);
      if ('error' in answer) released.push(q.job.scope);
      else stored.push({ scope: q.job.scope, response: answer });
    });

    // Round trip 2: the writes of every request run, the answers stored, COMMIT.
    await allInOrder([
      this.handler.write(tx, state),
      storeResponses(tx, stored)?.execute(),
      releaseKeys(tx, released)?.execute(),
      commit(),
    ]);

    // Later requests of a key in this batch: answered as a replay of its owner's, with the same
    // checks as a replay of an earlier batch's (replayFor).
    for (const q of batch) {
      const owner = ownerOf.get(scopeId(q.job.scope));
      const answer = owner && answers.get(owner);
      if (answers.has(q) || !owner || !answer) continue;
      const { fingerprint, warehouses } = owner.job.scope;
      if ('error' in answer) {
        answers.set(
          q,
          fingerprint === q.job.scope.fingerprint ? answer : { error: reusedKeyProblem() },
        );
        continue;
      }
      answers.set(q, replayAnswer(q.job, { fingerprint, warehouses, response: answer }));
    }
    return answers;
  }

  /**
   * One request against the batch's state: its outcome, stored problems (409/422) included; or,
   * for a problem that is not stored (403, ...), the error to answer with and a key to give up.
   * Anything but a ProblemError fails the batch's transaction, which runBatch then splits.
   */
  private runOne(state: unknown, context: C, job: PostingJob<C>): Answer {
    try {
      return outcomeOf(this.handler.run(state, context));
    } catch (err) {
      if (!(err instanceof ProblemError)) throw err;
      return isStoredOutcome(err.status) ? job.problem(err) : { error: err };
    }
  }
}
