// The contract between the HTTP layer and business logic. A handler receives what the spec
// validated plus who is asking and a database handle (a transaction for writes), and returns a
// status, a body, and optionally the document's ETag and Location. No HTTP plumbing here.
import type { operations } from '../generated/api.ts';
import type { Db } from '../db/client.ts';
import type { Config } from '../server/config.ts';
import type { Principal } from '../server/plugins/auth.ts';
import type { PageRequest, Page } from '../server/plugins/pagination.ts';
import type { AuditEntry } from '../db/audit.ts';
import type { ItemIndex } from '../db/item-index.ts';

/** Operations the server serves (the spec's `webhooks:` are sent, not served). */
export type OperationId = Exclude<keyof operations, 'onStockMovePosted' | 'onReceiptPosted'>;

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
  ? B
  : undefined;

export type Result<K extends OperationId> = {
  [S in SuccessStatus<K>]: {
    status: S;
    body: ResponseBody<K, S>;
    etag?: string;
    location?: string;
  };
}[SuccessStatus<K>];

export interface Actor {
  sub: string;
  clientId: string;
  requestId: string;
}

export interface Context<K extends OperationId> {
  body: RequestBody<K>;
  params: PathParams<K>;
  query: QueryParams<K>;
  principal: Principal;
  actor: Actor;
  /** The request's transaction for POST/PUT/DELETE, the pool for GET. */
  db: Db;
  config: Config;
  /** The If-Match header, when sent (the spec requires it where a write needs it). */
  ifMatch?: string;
  idempotencyKey?: string;
  /** Paginated operations only. */
  page: PageRequest & { result<T>(rows: T[], keyOf: (row: T) => unknown[]): Page<T> };
  /** The in-memory catalogue index used by item search (db/item-index.ts). */
  itemIndex: ItemIndex;
  /** Writes an audit entry in the request's transaction. */
  audit(entry: AuditEntry): Promise<void>;
}

export type Handler<K extends OperationId> = (ctx: Context<K>) => Promise<Result<K>>;

export type Handlers = { [K in OperationId]: Handler<K> };

/** How the HTTP layer sees any handler, once the per-operation types have done their job. */
export type AnyHandler = (
  ctx: Context<any>,
) => Promise<{ status: number; body?: unknown; etag?: string; location?: string }>;
