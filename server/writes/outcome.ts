// What the write path answers, and what it needs to know of a request.
import type { Db } from '../../db/client.ts';
import type { ProblemError } from '../../domain/problems.ts';
import type { AnyResult, Context } from '../../handlers/types.ts';
import type { IdempotencyScope, StoredResponse } from './idempotency.ts';

/** A response: status, body and headers, and whether it replays a stored one. */
export type Outcome = StoredResponse & { replayed?: boolean };

/** A write request, as the write path sees it (C: the handler's context). */
export interface WriteRequest<C = Context<any>> {
  /** Its Idempotency-Key within its scope (client, operation), when it sent one. */
  scope?: IdempotencyScope;
  /** The handler's context for this request, on the transaction it runs in. */
  context(db: Db): C;
  /** The response form of a ProblemError (409/422 are stored and replayed). */
  problem(err: ProblemError): Outcome;
}

export function outcomeOf(result: AnyResult): Outcome {
  const headers: Record<string, string> = {};
  if (result.etag) headers.ETag = result.etag;
  if (result.location) headers.Location = result.location;
  return { status: result.status, body: result.body, headers };
}
