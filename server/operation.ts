// Runs one operation, in the order of its steps: the request's context (who asks, what the spec
// validated, the page asked for), then the handler, on the pool for a read or through the write
// path (writes/) for a write, then the response (status, headers, ETag, Location, Link).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Sql } from '../db/client.ts';
import { writeAudit } from '../db/audit.ts';
import type { Page } from '../domain/pages.ts';
import type { ItemIndex } from '../db/item-index.ts';
import type { Principal } from '../domain/access.ts';
import type { ProblemError } from '../domain/problems.ts';
import type { AnyHandler, Context, HandlerConfig } from '../handlers/types.ts';
import type { FeedPosition } from './plugins/feed-position.ts';
import type { Pager } from './plugins/pagination.ts';
import type { OperationMeta } from './spec.ts';
import type { Outcome, WritePath, Writer } from './writes/index.ts';
import type { ReadReplicas } from './replicas.ts';
import {
  fingerprint,
  parseIdempotencyKey,
  scopeOf,
  type IdempotencyScope,
} from './writes/idempotency.ts';
import { outcomeOf } from './writes/outcome.ts';

const ANONYMOUS: Principal = {
  sub: 'anonymous',
  clientId: 'anonymous',
  scopes: new Set(),
  warehouses: new Set(),
};

export interface OperationDeps {
  sql: Sql;
  config: HandlerConfig;
  pager: Pager;
  itemIndex: ItemIndex;
  feedPosition: FeedPosition;
  writes: WritePath;
  /** Streaming replicas that lists may be read on; none: every read on the primary. */
  replicas?: ReadReplicas;
}

/** The Fastify handler of one operation. */
export function operationHandler(meta: OperationMeta, handler: AnyHandler, deps: OperationDeps) {
  const execute =
    meta.method === 'GET' ? readerFor(meta, handler, deps) : deps.writes.writerFor(meta, handler);

  return async function runOperation(request: FastifyRequest, reply: FastifyReply) {
    const context = contextOf(meta, request, deps);
    const outcome = await execute({
      scope: keyScope(meta, request, context),
      context: (db) => ({ ...context, db, audit: (entry) => writeAudit(db, context.actor, entry) }),
      problem: (err) => problemOutcome(err, request),
    });
    return send(meta, request, reply, outcome);
  };
}

/**
 * A read: the handler on the pool, answered as a write would be. A list's page gets its
 * events_after: a feed position committed before the list was read, so that following the feed
 * from there misses no change the page does not show (docs/events.md, "Snapshot, then follow").
 *
 * A list (an operation with a `cursor` parameter in the spec; not the feed, whose cursor is
 * `after`) may be read on a streaming replica (docs/deploy.md, "Read replicas for lists"). There
 * the position is the replica's own, read on it by its last probe, and caps any position the
 * handler answers (a search's, of the item index): the replica may lag what this instance knows.
 * Everything else stays on the primary: single-resource GETs, whose ETag comes back in If-Match.
 */
function readerFor(
  meta: OperationMeta,
  handler: AnyHandler,
  { sql, pager, feedPosition, replicas }: OperationDeps,
): Writer {
  if (typeof handler !== 'function')
    throw new Error(`${meta.operationId} is a read and cannot be batched`);
  if (!meta.paginated) return async (request) => outcomeOf(await handler(request.context(sql)));
  const list = async (
    context: Parameters<typeof handler>[0],
    position: string,
  ): Promise<Outcome> => {
    const outcome = outcomeOf(await handler(context));
    // A list's body is a page (PageBody), or has one besides other members (the trace's on_hand).
    const { page } = outcome.body as Partial<Page<unknown>>;
    // A handler that knows better says so (a search answers what its in-memory index reflects).
    if (page) page.events_after ??= pager.feed.cursor(position);
    return outcome;
  };
  const onPrimary = (request: Parameters<Writer>[0]) =>
    // The position is read before the handler's queries take their snapshots.
    list(request.context(sql), feedPosition.current);
  if (!replicas) return onPrimary;
  return (request) =>
    replicas.read(
      ({ sql: replica, position }) => {
        const feed = {
          position: (cursor: string) => pager.feed.position(cursor),
          cursor: (p: string) => pager.feed.cursor(BigInt(p) < BigInt(position) ? p : position),
        };
        return list({ ...request.context(replica), feed }, position);
      },
      () => onPrimary(request),
    );
}

type RequestContext = Omit<Context<any>, 'db' | 'audit'>;

/** Everything of the handler's context but its database handle. */
function contextOf(
  meta: OperationMeta,
  request: FastifyRequest,
  deps: OperationDeps,
): RequestContext {
  const principal = request.principal ?? ANONYMOUS;
  const query = (request.query ?? {}) as Record<string, unknown>;
  const rawKey = request.headers['idempotency-key'];
  const ifMatch = request.headers['if-match'];
  const pageRequest = meta.paginated
    ? deps.pager.request(meta.operationId, query)
    : { limit: 0, after: null };
  return {
    body: request.body as any,
    params: request.params,
    query,
    principal,
    actor: { sub: principal.sub, clientId: principal.clientId, requestId: request.id },
    config: deps.config,
    ifMatch: typeof ifMatch === 'string' ? ifMatch : undefined,
    idempotencyKey:
      meta.idempotency !== 'none' && typeof rawKey === 'string'
        ? parseIdempotencyKey(rawKey)
        : undefined,
    page: {
      ...pageRequest,
      result: (rows, keyOf, resumeAfter) =>
        deps.pager.page(meta.operationId, query, pageRequest, rows, keyOf, resumeAfter),
    },
    feed: deps.pager.feed,
    itemIndex: deps.itemIndex,
  };
}

/** The request's Idempotency-Key in its scope (client, subject, operation), when it sent one. */
function keyScope(
  meta: OperationMeta,
  request: FastifyRequest,
  { principal, idempotencyKey }: RequestContext,
): IdempotencyScope | undefined {
  if (idempotencyKey === undefined) return undefined;
  return scopeOf(
    principal,
    meta.operationId,
    idempotencyKey,
    fingerprint(request.method, pathOf(request), request.body),
  );
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

function send(meta: OperationMeta, request: FastifyRequest, reply: FastifyReply, outcome: Outcome) {
  for (const [name, value] of Object.entries(outcome.headers)) reply.header(name, value);
  if (outcome.replayed) reply.header('Idempotent-Replayed', 'true');
  const next = meta.paginated ? nextLink(request, outcome.body) : undefined;
  if (next) reply.header('Link', `<${next}>; rel="next"`);
  reply.code(outcome.status);
  if (outcome.status >= 400) reply.type('application/problem+json');
  return outcome.status === 204 ? reply.send() : reply.send(outcome.body);
}

/** The next page's URL (RFC 8288 Link), when the list has more. */
function nextLink(request: FastifyRequest, body: unknown): string | undefined {
  const page = (body as { page?: { next_cursor?: string; limit: number } } | undefined)?.page;
  if (!page?.next_cursor) return undefined;
  const query = (request.query ?? {}) as Record<string, unknown>;
  const params = new URLSearchParams(
    Object.entries(query)
      .filter(([k, v]) => k !== 'cursor' && k !== 'limit' && v !== undefined)
      .map(([k, v]) => [k, String(v)]),
  );
  params.set('cursor', page.next_cursor);
  params.set('limit', String(page.limit));
  return `${pathOf(request)}?${params}`;
}
