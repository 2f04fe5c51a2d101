// Keyset pagination for documents listed newest first, on the stable unique key (created_at, id).
import type { Db } from './client.ts';

/** The `AND ...` condition for rows after `after` (the last key of the previous page), if any. */
export function olderThan(db: Db, after: unknown[] | null) {
  return after
    ? db`AND (created_at, id) < (${after[0] as string}::timestamptz, ${after[1] as string})`
    : db``;
}

export const newestFirst = (db: Db) => db`ORDER BY created_at DESC, id DESC`;

/** The keyset key of a row of such a list. */
export const newestKey = (row: { created_at: string; id: string }): unknown[] => [
  row.created_at,
  row.id,
];
