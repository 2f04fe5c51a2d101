// Keyset pagination (docs/standards.md §6): a list walks a stable unique key, in one direction, and
// each page continues strictly after the last key of the one before. One helper for every list, so
// that a list's usual order, its reverse (`order=`) and its sync order (`updated_since=`) are
// written, compared and keyed the same way.
import type postgres from 'postgres';
import type { Db } from './client.ts';

type Fragment = postgres.Fragment;

export type Direction = 'asc' | 'desc';

/**
 * A key column. `id_c` is `id` in the C collation: the order items are listed in, which the item
 * search index pages in too (db/items.ts listItems).
 */
type KeyColumn = 'created_at' | 'updated_at' | 'id' | 'id_c';

export interface Keyset {
  columns: readonly KeyColumn[];
  direction: Direction;
  /** Sync lists only: rows updated at or after this instant (inclusive: see listKeyset). */
  since?: string;
}

export const NEWEST_FIRST: Keyset = { columns: ['created_at', 'id'], direction: 'desc' };
export const BY_ID: Keyset = { columns: ['id'], direction: 'asc' };
export const BY_ID_C: Keyset = { columns: ['id_c'], direction: 'asc' };

/** What a list request may say about its order (the query parameters `updated_since`, `order`). */
export interface ListOrder {
  updated_since?: string;
  order?: Direction;
}

/**
 * The keyset a request walks. With `updated_since`, (updated_at, id), oldest change first unless
 * `order=desc`: a sync client resumes from the last updated_at it saw, and the bound is inclusive
 * because several rows may share that millisecond, some of them not yet seen. Otherwise the list's
 * usual key, in its usual direction unless `order` names one, so clients that send neither get
 * exactly what they got before.
 */
export function listKeyset(usual: Keyset, q: ListOrder): Keyset {
  if (q.updated_since !== undefined)
    return {
      columns: ['updated_at', 'id'],
      direction: q.order ?? 'asc',
      since: q.updated_since,
    };
  return q.order === undefined ? usual : { ...usual, direction: q.order };
}

const column = (db: Db, c: KeyColumn): Fragment =>
  c === 'id_c' ? db`id COLLATE "C"` : db`${db(c)}`;

// Timestamps come back from the database as text (db/client.ts); compared as text they would not
// order as instants.
const value = (db: Db, c: KeyColumn, v: unknown): Fragment =>
  c === 'created_at' || c === 'updated_at' ? db`${v as string}::timestamptz` : db`${v as string}`;

function list<T>(db: Db, parts: T[], render: (part: T) => Fragment): Fragment {
  return parts.reduce<Fragment>(
    (acc, part, i) => (i === 0 ? render(part) : db`${acc}, ${render(part)}`),
    db``,
  );
}

/**
 * The `AND ...` conditions of a page: the sync bound, and the rows after `after` (the last key of
 * the previous page), if any. A row comparison, so that one index on the key columns serves it in
 * either direction.
 */
export function keysetWhere(db: Db, ks: Keyset, after: unknown[] | null) {
  const since = ks.since === undefined ? db`` : db`AND updated_at >= ${ks.since}::timestamptz`;
  if (!after) return since;
  const cols = list(db, [...ks.columns], (c) => column(db, c));
  const vals = list(
    db,
    ks.columns.map((c, i) => [c, after[i]] as const),
    ([c, v]) => value(db, c, v),
  );
  return db`${since} AND (${cols}) ${ks.direction === 'asc' ? db`>` : db`<`} (${vals})`;
}

export function keysetOrder(db: Db, ks: Keyset) {
  const dir = ks.direction === 'asc' ? db`ASC` : db`DESC`;
  return db`ORDER BY ${list(db, [...ks.columns], (c) => db`${column(db, c)} ${dir}`)}`;
}

type Keyed = { id: string } & Partial<Record<'created_at' | 'updated_at', string>>;

/** How a row of a list walking `ks` gives its key (the cursor's position). */
export const keysetKey =
  (ks: Keyset) =>
  (row: Keyed): unknown[] =>
    ks.columns.map((c) => (c === 'id_c' ? row.id : row[c]));

/** The `AND ...` condition for rows after `after` in newest-first order, if any. */
export const olderThan = (db: Db, after: unknown[] | null) => keysetWhere(db, NEWEST_FIRST, after);

export const newestFirst = (db: Db) => keysetOrder(db, NEWEST_FIRST);

/** The keyset key of a row of a newest-first list. */
export const newestKey = keysetKey(NEWEST_FIRST);
