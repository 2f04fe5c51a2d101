import { listKeyset, type Keyset, type ListOrder } from '../../db/keyset.ts';
import type { ScopedPage } from '../../db/listing.ts';
import { assertWarehouses, type Principal } from '../../domain/access.ts';
import type { PageRequest } from '../../domain/pages.ts';
import { invalidField } from '../../domain/problems.ts';

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

/**
 * 422 unless `value` names an instant PostgreSQL can hold: RFC 3339 allows year 0000, which the
 * proleptic calendar PostgreSQL counts in has not (1 BC comes before AD 1).
 */
export function assertInstant(pointer: string, value: string | undefined): void {
  if (value?.startsWith('0000'))
    throw invalidField(pointer, 'out_of_range', 'Year 0000 is not a year: the earliest is 0001.');
}

/**
 * The keyset a list request walks (listKeyset, db/keyset.ts): its usual one, reversed by
 * `order`, or (updated_at, id) from `updated_since` on.
 */
export function listOrder(usual: Keyset, query: ListOrder): Keyset {
  assertInstant('#/query/updated_since', query.updated_since);
  return listKeyset(usual, query);
}
