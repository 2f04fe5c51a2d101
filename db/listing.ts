import type { PendingQuery } from 'postgres';
import type { Db } from './client.ts';

/**
 * What a warehouse-scoped list query takes besides its filters: the warehouses the reader may see
 * (null: all), the keyset position to continue after (null: from the start), and the page size.
 */
export interface ScopedPage<Key extends unknown[] = [string, string]> {
  allowed: string[] | null;
  after: Key | null;
  limit: number;
}

/**
 * `canSee` (domain/access.ts) as a WHERE condition, for rows that are never global (procurement
 * documents): with a restricted reader, a row is kept when `warehouses`, a text[] expression of
 * the row, shares a warehouse with `allowed`. An empty array or {NULL} (an unassigned document)
 * shares none, so only unrestricted readers see such rows (docs/standards.md §3).
 */
export function visibleTo(
  db: Db,
  allowed: string[] | null,
  warehouses: PendingQuery<any>,
): PendingQuery<any> {
  return allowed === null ? db`` : db`AND ${warehouses} && ${allowed}::text[]`;
}
