// Optimistic concurrency for versioned documents (STANDARDS §5). Handlers lock the row
// (SELECT ... FOR UPDATE), then call assertCurrent: the lock makes check-and-write atomic, so two
// writers holding the same ETag can never both succeed.
import { ProblemError } from '../../server/problem.ts';
import { etagMatches, etagOf } from '../../server/plugins/etag.ts';

export { etagOf };

/** 412 precondition-failed (with the current ETag) unless If-Match names the current version. */
export function assertCurrent(ifMatch: string | undefined, version: number, what: string): void {
  if (ifMatch !== undefined && etagMatches(ifMatch, version)) return;
  const current = etagOf(version);
  throw new ProblemError(
    'precondition-failed',
    `The ${what} changed since you read it (you sent ${ifMatch ?? 'no If-Match'}, it is now ${current}). Fetch it again and retry.`,
    { current_etag: current },
    { ETag: current },
  );
}
