// What the write path answers, and what it needs to know of a request.
import type { Db } from '../../db/client.ts';
import type { ProblemError } from '../../domain/problems.ts';
import type { Context } from '../../handlers/types.ts';
import type { IdempotencyScope, StoredResponse } from './idempotency.ts';

/** A response: status, body and headers, and whether it replays a stored one. */
export type Outcome = StoredResponse & { replayed?: boolean };

/** What a handler returns, seen from here. */
export interface WriteResult {
  status: number;
  body?: unknown;
  etag?: string;
  location?: string;
}

/** A write request, as the write path sees it. */
export interface WriteRequest {
  /** Its Idempotency-Key within its scope (client, operation), when it sent one. */
  scope?: IdempotencyScope;
  /** The handler's context for this request, on the transaction it runs in. */
  context(db: Db): Context<any>;
  /** The response form of a ProblemError (409/422 are stored and replayed). */
  problem(err: ProblemError): Outcome;
}

export function outcomeOf(result: WriteResult): Outcome {
  const headers: Record<string, string> = {};
  if (result.etag) headers.ETag = result.etag;
  if (result.location) headers.Location = result.location;
  return { status: result.status, body: result.body, headers };
}
