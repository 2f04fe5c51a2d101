/**
 * What a warehouse-scoped list query takes besides its filters: the warehouses the reader may see
 * (null: all), the keyset position to continue after (null: from the start), and the page size.
 */
export interface ScopedPage<Key extends unknown[] = [string, string]> {
  allowed: string[] | null;
  after: Key | null;
  limit: number;
}
