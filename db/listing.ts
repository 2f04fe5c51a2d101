/**
 * What a warehouse-scoped list query takes besides its filters: the warehouses the reader may see
 * (null: all), the keyset position to continue after (null: from the start), and the page size.
 *
 * Each query applies `allowed` as `canSee` (domain/access.ts) in its own terms, written as a
 * warehouse column `= ANY(allowed)` (or an IN over one), so that the warehouse indexes serve it;
 * NULL equals nothing, so a document of no warehouse stays for unrestricted readers only
 * (docs/standards.md §3).
 */
export interface ScopedPage<Key extends unknown[] = [string, string]> {
  allowed: string[] | null;
  after: Key | null;
  limit: number;
}
