import type { ScopedPage } from '../../db/listing.ts';
import { assertWarehouses, type Principal } from '../../domain/access.ts';
import type { PageRequest } from '../../domain/pages.ts';

/** The scoped page of a list request; 403 when it filters on a warehouse the token may not see. */
export function scopedPage<Key extends unknown[] = [string, string]>(
  principal: Principal,
  page: PageRequest,
  warehouseFilter?: string,
): ScopedPage<Key> {
  if (warehouseFilter) assertWarehouses(principal, warehouseFilter);
  return {
    allowed: principal.warehouses && [...principal.warehouses],
    after: page.after as Key | null,
    limit: page.limit,
  };
}
