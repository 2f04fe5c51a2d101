// Runs one operation: builds the handler's context from the validated request, opens the
// transaction for writes (retried on serialization failure/deadlock), applies idempotency inside
// it, and turns the handler's result into the HTTP response (status, ETag, Location, Link).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { allInOrder, inPipelinedTransaction, type Db, type Sql } from '../db/client.ts';
import { writeAudit } from '../db/audit.ts';
import type { AnyHandler, Context } from '../handlers/types.ts';
import type { Config } from './config.ts';
import { ProblemError } from './problem.ts';
import type { OperationMeta } from './spec.ts';
import type { Principal } from './plugins/auth.ts';
import {
  claimKey,
  fingerprint,
  isStoredOutcome,
  parseIdempotencyKey,
  storeResponses,
  type IdempotencyScope,
} from './plugins/idempotency.ts';
import type { Pager } from './plugins/pagination.ts';
import type { ItemIndex } from '../db/item-index.ts';
import type { Outcome, PostingQueue } from './plugins/group-commit.ts';

const ANONYMOUS: Principal = {
  sub: 'anonymous',
  clientId: 'anonymous',
  scopes: new Set(),
  warehouses: new Set(),
};

export interface OperationDeps {
  sql: Sql;
  config: Config;
  pager: Pager;
  itemIndex: ItemIndex;
  /** For operations applied through group commit: their queue. */
  postings?: PostingQueue<Context<any>, HandlerResult>;
}

type HandlerResult = Awaited<ReturnType<AnyHandler>>;

function outcomeOf(result: HandlerResult): Outcome {
  const headers: Record<string, string> = {};
  if (result.etag) headers.ETag = result.etag;
  if (result.location) headers.Location = result.location;
  return { status: result.status, body: result.body, headers };
}

function pathOf(request: FastifyRequest): string {
  return request.url.split('?')[0];
}

function problemOutcome(problem: ProblemError, request: FastifyRequest): Outcome {
  return {
    status: problem.status,
    body: problem.body(pathOf(request), request.id),
    headers: problem.headers,
  };
}

export function operationHandler(meta: OperationMeta, handler: AnyHandler, deps: OperationDeps) {
  const writes = meta.method !== 'GET';

  return async function runOperation(request: FastifyRequest, reply: FastifyReply) {
    const principal = request.principal ?? ANONYMOUS;
    const query = (request.query ?? {}) as Record<string, unknown>;
    const actor = { sub: principal.sub, clientId: principal.clientId, requestId: request.id };
    const rawKey = request.headers['idempotency-key'];
    const idempotencyKey =
      meta.idempotency !== 'none' && typeof rawKey === 'string'
        ? parseIdempotencyKey(rawKey)
        : undefined;
    const pageRequest = meta.paginated
      ? deps.pager.request(meta.operationId, query)
      : { limit: 0, after: null };

    const contextFor = (db: Db): Context<any> => ({
      body: request.body as any,
      params: request.params,
      query,
      principal,
      actor,
      db,
      config: deps.config,
      ifMatch:
        typeof request.headers['if-match'] === 'string' ? request.headers['if-match'] : undefined,
      idempotencyKey,
      page: {
        ...pageRequest,
        result: (rows, keyOf) => deps.pager.page(meta.operationId, query, pageRequest, rows, keyOf),
      },
      itemIndex: deps.itemIndex,
      audit: (entry) => writeAudit(db, actor, entry),
    });

    const execute = async (db: Db): Promise<Outcome> => outcomeOf(await handler(contextFor(db)));

    let outcome: Outcome;
    if (!writes) {
      outcome = await execute(deps.sql);
    } else if (!idempotencyKey) {
      outcome = await inPipelinedTransaction(deps.sql, async (tx, commit) => {
        const fresh = await execute(tx);
        await commit();
        return fresh;
      });
    } else {
      const scope: IdempotencyScope = {
        clientId: principal.clientId,
        operationId: meta.operationId,
        key: idempotencyKey,
        fingerprint: fingerprint(request.method, pathOf(request), request.body),
      };
      if (deps.postings) {
        outcome = await deps.postings.submit({
          scope,
          context: contextFor,
          outcome: outcomeOf,
          problem: (err) => problemOutcome(err, request),
        });
      } else {
        // Two round trips besides the handler's own: BEGIN travels with the claim, the savepoint
        // with the handler's first statements, the stored answer with COMMIT.
        outcome = await inPipelinedTransaction(deps.sql, async (tx, commit) => {
          const stored = await claimKey(tx, scope);
          if (stored) {
            await commit();
            return { ...stored, replayed: true };
          }
          // A savepoint, so a domain error undoes the effect but keeps the key row to store the error
          // in. Should it fail, so do the statements behind it, and with them the request.
          tx.unsafe('SAVEPOINT request')
            .execute()
            .catch(() => {});
          let fresh: Outcome;
          try {
            fresh = await execute(tx);
          } catch (err) {
            if (!(err instanceof ProblemError) || !isStoredOutcome(err.status)) throw err;
            tx.unsafe('ROLLBACK TO SAVEPOINT request')
              .execute()
              .catch(() => {});
            fresh = problemOutcome(err, request);
          }
          await allInOrder([storeResponses(tx, [{ scope, response: fresh }])!.execute(), commit()]);
          return fresh;
        });
      }
    }

    for (const [name, value] of Object.entries(outcome.headers)) reply.header(name, value);
    if (outcome.replayed) reply.header('Idempotent-Replayed', 'true');
    const body = outcome.body as { page?: { next_cursor?: string; limit: number } } | undefined;
    if (meta.paginated && body?.page?.next_cursor) {
      const params = new URLSearchParams(
        Object.entries(query)
          .filter(([k, v]) => k !== 'cursor' && k !== 'limit' && v !== undefined)
          .map(([k, v]) => [k, String(v)]),
      );
      params.set('cursor', body.page.next_cursor);
      params.set('limit', String(body.page.limit));
      reply.header('Link', `<${pathOf(request)}?${params}>; rel="next"`);
    }
    reply.code(outcome.status);
    if (outcome.status >= 400) reply.type('application/problem+json');
    return outcome.status === 204 ? reply.send() : reply.send(outcome.body);
  };
}
