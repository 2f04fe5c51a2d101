// What a list answer is made of (docs/standards.md §6): the page a request asks for, and the body
// it gets. Cursors, their signing and the Link header are HTTP's: server/plugins/pagination.ts.

const MAX_LIMIT = 200;

/** The page size a `limit` asks for: 50 by default, larger values reduced to 200 (the spec's Limit). */
export function pageLimit(limit: unknown): number {
  return Math.min(Number(limit ?? 50), MAX_LIMIT);
}

export interface PageRequest {
  limit: number;
  /** The keyset position after which to continue (the last row's key of the previous page), or null. */
  after: unknown[] | null;
}

export interface Page<T> {
  data: T[];
  page: { limit: number; has_more: boolean; next_cursor?: string; events_after?: string };
}

/**
 * Feed cursors (docs/events.md): opaque, signed strings that stand for a position in the event
 * feed. Positions are decimal strings (bigint in the database).
 */
export interface FeedCursors {
  cursor(position: string): string;
  /** The position `cursor` stands for; 422 invalid-cursor for one this server did not issue. */
  position(cursor: string): string;
}

/** A list response body (a class, so that the serializer can tell one apart: json.ts). */
export class PageBody<T> implements Page<T> {
  constructor(
    readonly data: T[],
    readonly page: Page<T>['page'],
  ) {}
}
