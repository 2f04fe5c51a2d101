// The contract between the HTTP layer and business logic. A handler receives what the spec
// validated plus who is asking and a database handle (a transaction for writes), and returns a
// status, a body, and optionally the document's ETag and Location. No HTTP plumbing here.
//
// An operation has one handler, of one of two forms: a function, run on its request's own
// transaction; or a Batched handler, whose requests the write path applies many at a time on one
// transaction (group commit, server/writes/group-commit.ts).
import type { operations } from '../generated/api.ts';
import type { Db } from '../db/client.ts';
import type { Principal } from '../domain/access.ts';
import type { FeedCursors, PageRequest, Page } from '../domain/pages.ts';
import type { Actor, AuditEntry } from '../db/audit.ts';
import type { ItemIndex } from '../db/item-index.ts';

export type { Actor };

/**
 * Operations the server serves: the spec's `webhooks:` are sent, not served, and their
 * operationIds are the only ones named `on...` (onStockMovePosted).
 */
export type OperationId = Exclude<keyof operations, `on${string}`>;

type Json<T> = T extends { content: { 'application/json': infer B } } ? B : never;
type Op<K extends OperationId> = operations[K];

export type RequestBody<K extends OperationId> =
  Op<K> extends { requestBody: infer R }
    ? Json<R>
    : Op<K> extends { requestBody?: infer R }
      ? Json<NonNullable<R>> | undefined
      : undefined;
export type PathParams<K extends OperationId> = Op<K>['parameters'] extends { path: infer P }
  ? P
  : Record<string, never>;
export type QueryParams<K extends OperationId> = Op<K>['parameters'] extends { query?: infer Q }
  ? NonNullable<Q>
  : Record<string, never>;

type Responses<K extends OperationId> = Op<K>['responses'];
type SuccessStatus<K extends OperationId> = Extract<keyof Responses<K>, 200 | 201 | 202 | 204>;
type ResponseBody<K extends OperationId, S extends keyof Responses<K>> = Responses<K>[S] extends {
  content: { 'application/json': infer B };
}
  ? WithoutFeedPosition<B>
  : undefined;

/** A list's page.events_after is added by the read path (server/operation.ts), not by its handler. */
type WithoutFeedPosition<B> = B extends { page: infer P extends { events_after: string } }
  ? Omit<B, 'page'> & { page: Omit<P, 'events_after'> & { events_after?: string } }
  : B;

export type Result<K extends OperationId> = {
  [S in SuccessStatus<K>]: {
    status: S;
    body: ResponseBody<K, S>;
    etag?: string;
    location?: string;
  };
}[SuccessStatus<K>];

/** What business rules read of the server's configuration (server/config.ts fills it). */
export interface HandlerConfig {
  /** The 3-way match's allowed relative price difference (INVOICE_PRICE_TOLERANCE). */
  invoicePriceTolerance: number;
  /** Per currency, the order total above which sending needs an approval (PO_APPROVAL_THRESHOLDS). */
  poApprovalThresholds: Record<string, string>;
  /** NODE_ENV=production: webhook URLs must be https. */
  production: boolean;
  webhooks: { allowPrivate: boolean };
}

export interface Context<K extends OperationId> {
  body: RequestBody<K>;
  params: PathParams<K>;
  query: QueryParams<K>;
  principal: Principal;
  actor: Actor;
  /** The request's transaction for POST/PUT/DELETE, the pool for GET. */
  db: Db;
  config: HandlerConfig;
  /** The If-Match header, when sent (the spec requires it where a write needs it). */
  ifMatch?: string;
  idempotencyKey?: string;
  /**
   * Paginated operations only. `result` takes up to limit+1 rows; `resumeAfter` when the handler
   * stopped short of knowing whether more follow (Pager.page in server/plugins/pagination.ts).
   */
  page: PageRequest & {
    result<T>(rows: T[], keyOf: (row: T) => unknown[], resumeAfter?: unknown[]): Page<T>;
  };
  /** Feed cursors to and from positions in the event feed. */
  feed: FeedCursors;
  /** The in-memory catalogue index used by item search (db/item-index.ts). */
  itemIndex: ItemIndex;
  /** Writes an audit entry in the request's transaction. */
  audit(entry: AuditEntry): Promise<void>;
}

/**
 * A handler whose requests are applied many at a time on one transaction, with a fixed number of
 * round trips whatever their number. On that transaction, in this order:
 * - `load` sends the reads (and row locks) that every request of the batch needs, and resolves
 *   with the state they give;
 * - `run` applies one request to that state, in memory: it returns the request's result and
 *   records its writes in the state, or throws the ProblemError that refuses it, having changed
 *   nothing (the next request sees the state as if it had never come);
 * - `write` sends, before it returns, the writes of every request run, and resolves once they are
 *   done; the write path sends the stored answers and COMMIT right behind them.
 */
export interface Batched<K extends OperationId, State> {
  load(db: Db, contexts: Context<K>[]): Promise<State>;
  run(state: State, ctx: Context<K>): Result<K>;
  write(db: Db, state: State): Promise<void>;
}

export type Handler<K extends OperationId> =
  | ((ctx: Context<K>) => Promise<Result<K>>)
  | Batched<K, unknown>;

export type Handlers = { [K in OperationId]: Handler<K> };

/** How the HTTP layer sees any result and any handler, once the per-operation types have done their job. */
export type AnyResult = { status: number; body?: unknown; etag?: string; location?: string };
/** Any Batched handler, over contexts of type C (group commit's view of it). */
export interface AnyBatched<C = Context<any>> {
  load(db: Db, contexts: C[]): Promise<unknown>;
  run(state: unknown, ctx: C): AnyResult;
  write(db: Db, state: unknown): Promise<void>;
}
export type AnyHandler = ((ctx: Context<any>) => Promise<AnyResult>) | AnyBatched;
