// The write path: how a POST, PUT or DELETE becomes one committed transaction (the rules:
// docs/architecture.md, "Concurrency rules"; docs/standards.md §4 for keys). An operation's way
// of writing is chosen once, when its route is made, from its handler and its spec:
//
//   plain      BEGIN → handler → COMMIT
//   keyed      BEGIN + claim the key → the stored answer replayed
//                                    | SAVEPOINT → handler (→ ROLLBACK TO SAVEPOINT on a stored
//                                      problem) → store the answer + COMMIT
//   batched    queued; BEGIN + claim the keys + load → run each request → write + store the
//              answers + COMMIT, for a whole batch (group-commit.ts)
//
// Statements on either side of an arrow travel together in one round trip: besides its handler's
// own, a plain write costs one (COMMIT) and a keyed one two; a batch of any size costs two in
// all. Every transaction is retried whole on serialization failure or deadlock (transaction.ts),
// so a handler may run more than once.
import type { FastifyBaseLogger } from 'fastify';
import type { Registry } from 'prom-client';
import { allInOrder, type Db, type Sql } from '../../db/client.ts';
import { ProblemError } from '../../domain/problems.ts';
import type { AnyHandler } from '../../handlers/types.ts';
import type { OperationMeta } from '../spec.ts';
import { PostingQueue, type GroupCommitOptions } from './group-commit.ts';
import {
  claimKey,
  isStoredOutcome,
  purgeExpiredKeys,
  storeResponse,
  type IdempotencyScope,
} from './idempotency.ts';
import { outcomeOf, type Outcome, type WriteRequest } from './outcome.ts';
import { inPipelinedTransaction } from './transaction.ts';

export type { Outcome, WriteRequest };
export type Writer = (request: WriteRequest) => Promise<Outcome>;
type PlainHandler = Extract<AnyHandler, (...args: never[]) => unknown>;

export interface WritePathOptions {
  sql: Sql;
  postings: GroupCommitOptions;
  metrics: Registry;
  log: FastifyBaseLogger;
}

export class WritePath {
  private stopPurging = () => {};

  constructor(private readonly options: WritePathOptions) {}

  /** Once the server is ready: expired keys are purged while it runs. */
  start(): void {
    this.stopPurging = purgeExpiredKeys(this.options.sql, this.options.log);
  }

  /** How the requests of this operation are written. */
  writerFor(meta: OperationMeta, handler: AnyHandler): Writer {
    const { sql } = this.options;
    if (typeof handler === 'function') {
      return (request) =>
        request.scope
          ? keyed(sql, handler, request, request.scope, this.options.postings.idempotencyTtlH)
          : plain(sql, handler, request);
    }
    // Group commit claims, stores and replays every request's answer by its key: it needs one.
    if (meta.idempotency !== 'required') {
      throw new Error(`${meta.operationId} is batched, so its Idempotency-Key must be required`);
    }
    const queue = new PostingQueue(sql, handler, this.options.postings, this.options.metrics);
    return (request) => {
      const { scope } = request;
      if (!scope) throw new Error(`${meta.operationId} was sent without an Idempotency-Key`);
      return queue.submit({ scope, context: request.context, problem: request.problem });
    };
  }

  close(): void {
    this.stopPurging();
  }
}

/** A write without an Idempotency-Key: the handler on a transaction of its own. */
function plain(sql: Sql, handler: PlainHandler, request: WriteRequest): Promise<Outcome> {
  return inPipelinedTransaction(sql, async (tx, commit) => {
    const outcome = outcomeOf(await handler(request.context(tx)));
    await commit();
    return outcome;
  });
}

/**
 * A write under an Idempotency-Key, in two round trips besides the handler's own: BEGIN travels
 * with the claim, the savepoint with the handler's first statements, the stored answer with COMMIT.
 */
function keyed(
  sql: Sql,
  handler: PlainHandler,
  request: WriteRequest,
  scope: IdempotencyScope,
  ttlH: number,
): Promise<Outcome> {
  return inPipelinedTransaction(sql, async (tx, commit) => {
    const stored = await claimKey(tx, scope, ttlH);
    if (stored) {
      await commit();
      return { ...stored, replayed: true };
    }
    const outcome = await behindSavepoint(tx, handler, request);
    await allInOrder([storeResponse(tx, scope, outcome).execute(), commit()]);
    return outcome;
  });
}

/**
 * Runs the handler behind a savepoint, so that a problem to store (409/422) undoes its effect but
 * keeps the key's row to store the answer in. Should the savepoint fail, so do the statements
 * behind it, and with them the request.
 */
async function behindSavepoint(
  tx: Db,
  handler: PlainHandler,
  request: WriteRequest,
): Promise<Outcome> {
  tx.unsafe('SAVEPOINT request')
    .execute()
    .catch(() => {});
  try {
    return outcomeOf(await handler(request.context(tx)));
  } catch (err) {
    if (!(err instanceof ProblemError) || !isStoredOutcome(err.status)) throw err;
    tx.unsafe('ROLLBACK TO SAVEPOINT request')
      .execute()
      .catch(() => {});
    return request.problem(err);
  }
}
