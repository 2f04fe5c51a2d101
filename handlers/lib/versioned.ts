// Optimistic concurrency for versioned documents (docs/standards.md §5). Handlers lock the row
// (SELECT ... FOR UPDATE), then call assertCurrent: the lock makes check-and-write atomic, so two
// writers holding the same ETag can never both succeed.
import { ProblemError } from '../../domain/problems.ts';

export function etagOf(version: number): string {
  return `"v${version}"`;
}

/** True when an If-Match header value lists this version's tag (or `*`). Weak tags never match. */
function etagMatches(header: string | undefined, version: number): boolean {
  if (!header) return false;
  const tag = etagOf(version);
  return header.split(',').some((t) => {
    const candidate = t.trim();
    return candidate === '*' || candidate === tag;
  });
}

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
