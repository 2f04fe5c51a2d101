// Group commit for postings (issue 7). A durable commit costs an fsync, and a hot stock row stays
// locked through it, so one transaction per request caps a hot SKU at one posting per fsync.
// Postings are instead queued and applied together: one transaction per batch, every stock level
// the batch touches locked once, in (item, warehouse) order (so concurrent batches never
// deadlock), each posting in its own savepoint (a refused posting never fails its neighbours),
// idempotency keys claimed and responses stored in one statement each, one commit. Each request
// still gets its own exact response, and only after the commit that contains its posting.
//
// Batching is adaptive: with a free slot a posting starts at once (a batch of one when the server
// is quiet); while `maxInFlight` batches run, arrivals queue up and form the next batch.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Histogram } from 'prom-client';
import { inTransaction, isRetryable, type Sql, type Tx } from '../../db/client.ts';
import { lockLevels, type StockKey } from '../../db/stock.ts';
import { ProblemError } from '../problem.ts';
import { claimKeys, isStoredOutcome, releaseKeys, reusedKeyProblem, scopeId, storeResponses, type IdempotencyScope, type StoredResponse } from './idempotency.ts';

export type Outcome = StoredResponse & { replayed?: boolean };

export interface PostingJob {
  scope: IdempotencyScope;
  /**
   * The stock levels the posting will lock, known from its request. The batch locks the existing
   * ones up front; rows a posting creates (first stock of an item in a warehouse) are created by
   * the posting itself, inside its savepoint, so a refused posting leaves none behind.
   */
  locks: StockKey[];
  /** Runs the handler on the batch's transaction; throws what the handler throws. */
  run(tx: Tx): Promise<Outcome>;
  /** The stored form of a ProblemError the handler threw (409/422 are stored and replayed). */
  problem(err: ProblemError): Outcome;
}

interface Queued {
  job: PostingJob;
  resolve(outcome: Outcome): void;
  reject(err: unknown): void;
}

export interface GroupCommitOptions {
  sql: Sql;
  maxBatch?: number;
  maxInFlight?: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    postings: PostingQueue;
  }
}

function sortedUnique(keys: StockKey[]): StockKey[] {
  const unique = new Map(keys.map((k) => [JSON.stringify([k.item_id, k.warehouse_id]), k]));
  return [...unique].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, k]) => k);
}

export class PostingQueue {
  private readonly queue: Queued[] = [];
  private inFlight = 0;
  private readonly sql: Sql;
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  private readonly metrics?: { sizes: Histogram; seconds: Histogram };

  constructor({ sql, maxBatch = 64, maxInFlight = 4 }: GroupCommitOptions, metrics?: { sizes: Histogram; seconds: Histogram }) {
    this.sql = sql;
    this.maxBatch = maxBatch;
    this.maxInFlight = maxInFlight;
    this.metrics = metrics;
  }

  submit(job: PostingJob): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.startBatches();
    });
  }

  private startBatches() {
    while (this.inFlight < this.maxInFlight && this.queue.length) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight++;
      this.metrics?.sizes.observe(batch.length);
      const stopTimer = this.metrics?.seconds.startTimer();
      void this.runBatch(batch).finally(() => {
        stopTimer?.();
        this.inFlight--;
        this.startBatches();
      });
    }
  }

  private async runBatch(batch: Queued[]) {
    let outcomes: Map<Queued, Outcome | { error: unknown }>;
    try {
      outcomes = await inTransaction(this.sql, (tx) => this.apply(tx, batch));
    } catch (err) {
      for (const q of batch) q.reject(err);
      return;
    }
    for (const q of batch) {
      const outcome = outcomes.get(q)!;
      if ('error' in outcome) q.reject(outcome.error);
      else q.resolve(outcome);
    }
  }

  /** The batch's transaction. May run more than once (inTransaction retries deadlocks), so it keeps no state outside. */
  private async apply(tx: Tx, batch: Queued[]): Promise<Map<Queued, Outcome | { error: unknown }>> {
    const outcomes = new Map<Queued, Outcome | { error: unknown }>();
    // The first request of each key in the batch owns it; later ones with the same key get its answer.
    const owners = new Map<string, Queued>();
    for (const q of batch) if (!owners.has(scopeId(q.job.scope))) owners.set(scopeId(q.job.scope), q);

    const earlier = await claimKeys(tx, [...owners.values()].map((q) => q.job.scope));
    const running = [...owners.values()].filter((q) => {
      const found = earlier.get(scopeId(q.job.scope));
      if (found) outcomes.set(q, found instanceof ProblemError ? { error: found } : { ...found, replayed: true });
      return !found;
    });

    await lockLevels(tx, sortedUnique(running.flatMap((q) => q.job.locks)));

    const stored: { scope: IdempotencyScope; response: StoredResponse }[] = [];
    const released: IdempotencyScope[] = [];
    for (const q of running) {
      // Sent without waiting: postgres.js runs a transaction's statements in order, so the
      // savepoint is in place before the handler's first statement, at no extra round trip.
      tx.unsafe('SAVEPOINT posting').catch(() => {});
      try {
        const outcome = await q.job.run(tx);
        tx.unsafe('RELEASE SAVEPOINT posting').catch(() => {});
        outcomes.set(q, outcome);
        stored.push({ scope: q.job.scope, response: outcome });
      } catch (err) {
        await tx.unsafe('ROLLBACK TO SAVEPOINT posting');
        if (err instanceof ProblemError && isStoredOutcome(err.status)) {
          const outcome = q.job.problem(err);
          outcomes.set(q, outcome);
          stored.push({ scope: q.job.scope, response: outcome });
        } else {
          if (isRetryable(err)) throw err;
          outcomes.set(q, { error: err });
          released.push(q.job.scope);
        }
      }
    }
    await Promise.all([storeResponses(tx, stored), releaseKeys(tx, released)]);

    for (const q of batch) {
      if (outcomes.has(q)) continue;
      const owner = owners.get(scopeId(q.job.scope))!;
      const answer = outcomes.get(owner)!;
      if (owner.job.scope.fingerprint !== q.job.scope.fingerprint) outcomes.set(q, { error: reusedKeyProblem() });
      else outcomes.set(q, 'error' in answer ? answer : { ...answer, replayed: true });
    }
    return outcomes;
  }
}

export default fp(async function groupCommit(app: FastifyInstance, options: GroupCommitOptions) {
  const sizes = new Histogram({
    name: 'posting_batch_size',
    help: 'Postings applied per group-commit transaction',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    registers: [app.metrics],
  });
  const seconds = new Histogram({
    name: 'posting_batch_duration_seconds',
    help: 'Time from starting a group-commit transaction to its commit',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [app.metrics],
  });
  app.decorate('postings', new PostingQueue(options, { sizes, seconds }));
}, { name: 'group-commit', dependencies: ['metrics'] });
