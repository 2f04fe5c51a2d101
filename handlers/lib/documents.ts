// Helpers shared by the procurement documents (requisitions, purchase orders, receipts): their
// JSON shape and the checks every state change of a versioned document makes, in the order
// docs/standards.md §5 wants them (404, then 412 on a stale ETag, then 409 for the wrong state).
import { invalidState, notFound } from '../../domain/problems.ts';
import { assertCurrent, etagOf } from './versioned.ts';

type NullableKeys<T> = { [K in keyof T]-?: null extends T[K] ? K : never }[keyof T];
/** T with its nullable columns turned into optional fields. */
export type Present<T> = Omit<T, NullableKeys<T>> & {
  [K in NullableKeys<T>]?: Exclude<T[K], null>;
};

/** Optional fields are absent from the API's JSON, never null (the spec's schemas say so). */
export function present<T extends object>(row: T): Present<T> {
  // A loop rather than Object.fromEntries(Object.entries(...).filter(...)): ~9x faster, and a page
  // of a list presents every row (docs/decisions/0014).
  const out: Partial<T> = {};
  for (const key in row) if (row[key] !== null) out[key] = row[key];
  return out as Present<T>;
}

/** The row without its version column, with the ETag derived from it. */
export function withEtag<T extends { version: number }>({
  version,
  ...rest
}: T): Omit<T, 'version'> & { etag: string } {
  return { ...rest, etag: etagOf(version) };
}

/**
 * For a state change of a locked document row: 404 when it does not exist, 412 unless If-Match
 * names its current version, 409 invalid-state unless its status is one of `allowed`.
 */
export function assertChangeable<T extends { version: number; status: string }>(
  row: T | null,
  what: string,
  id: string,
  ifMatch: string | undefined,
  allowed: readonly string[],
  action: string,
): T {
  if (!row) throw notFound(what, id);
  assertCurrent(ifMatch, row.version, what);
  if (!allowed.includes(row.status))
    throw invalidState(capitalize(what), id, row.status, [...allowed], action);
  return row;
}

function capitalize(s: string): string {
  return s[0].toUpperCase() + s.slice(1);
}

/** Rows grouped by key, each group in the rows' order (for attaching lines to their documents). */
export function groupBy<T, K>(rows: T[], key: (row: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const row of rows) {
    const k = key(row);
    const group = groups.get(k);
    if (group) group.push(row);
    else groups.set(k, [row]);
  }
  return groups;
}
