// The change feed's queries (docs/events.md): outbox events by their position, given after commit
// in commit order by the fan-out (db/webhook-dispatch.ts, migration 0012).
import { GLOBAL_EVENT_ENTITIES } from '../domain/events.ts';
import type { Db } from './client.ts';

/**
 * NOTIFY channel of the feed's new positions: the fan-out sends its last one, delivered as it
 * commits, so every instance knows a committed position without asking (server/plugins/feed-position.ts).
 */
export const FEED_CHANNEL = 'feed_position';

export interface FeedPage {
  /** Events after the position asked for, in position order, at most limit + 1, as their JSON text. */
  events: { position: string; payload: string }[];
  /**
   * Set when the scan stopped at its budget before finding limit + 1 events: every event up to
   * this position was looked at (and those not shown were filtered out).
   */
  scannedThrough: string | null;
  /** The largest position given, in the same snapshot as `events`. */
  last: string;
  /** Every position up to this one has been deleted by retention. */
  expiredThrough: string;
}

export interface FeedQuery {
  after: string;
  limit: number;
  /** Only these types (null: all). */
  types: string[] | null;
  /** The reader's warehouses (null: unrestricted), applied as canSeeEvent (domain/events.ts). */
  allowed: string[] | null;
}

/**
 * How many events one filtered read looks at, at most: a token that sees few of the events (or
 * asks for a rare type) pages through the rest in steps of this size instead of one request
 * scanning the whole feed (the item search's budget, for the same reason).
 */
const SCAN_BUDGET = 4096;

/**
 * One page of the feed. A single statement, so one snapshot: the retention mark read with the
 * events says whether events after `after` were deleted before this read (410), never after it.
 * Only the events shown are read whole; the scan reads each row's type and warehouses.
 */
export async function readFeed(db: Db, q: FeedQuery): Promise<FeedPage> {
  const filtered = q.types !== null || q.allowed !== null;
  const budget = filtered ? SCAN_BUDGET : q.limit + 1;
  const rows = await db<
    {
      last: string;
      expired_through: string;
      scanned: number;
      scanned_through: string | null;
      position: string | null;
      payload: string;
    }[]
  >`
    WITH scanned AS MATERIALIZED (
      SELECT position, type, warehouse_ids FROM outbox
      WHERE position > ${q.after}::bigint ORDER BY position LIMIT ${budget}
    ), chosen AS (
      SELECT position FROM scanned
      WHERE true
        ${q.types ? db`AND type = ANY(${q.types}::text[])` : db``}
        ${q.allowed ? db`AND ${visibleTo(db, q.allowed)}` : db``}
      ORDER BY position LIMIT ${q.limit + 1}
    )
    SELECT s.last_position::text AS last, s.expired_through::text AS expired_through,
           (SELECT count(*) FROM scanned)::int AS scanned,
           (SELECT max(position) FROM scanned)::text AS scanned_through,
           o.position::text AS position, o.payload::text AS payload
    FROM feed_state s
    LEFT JOIN (chosen JOIN outbox o USING (position)) ON true
    ORDER BY o.position`;
  const [first] = rows;
  const events = rows.flatMap((r) =>
    r.position === null ? [] : [{ position: r.position, payload: r.payload }],
  );
  const exhausted = first.scanned === budget && events.length <= q.limit;
  return {
    events,
    scannedThrough: exhausted ? first.scanned_through : null,
    last: first.last,
    expiredThrough: first.expired_through,
  };
}

/**
 * Whether the feed no longer holds every event after `position`: it has pruned events beyond it
 * (feed_state.expired_through, kept by the change feed's retention).
 */
export async function feedExpiredAfter(db: Db, position: string): Promise<boolean> {
  const [row] = await db<{ expired: boolean }[]>`
    SELECT ${position}::bigint < expired_through AS expired FROM feed_state`;
  return row?.expired ?? false;
}

/** canSeeEvent in SQL: an event of the reader's warehouses, or of a global resource. */
function visibleTo(db: Db, allowed: string[]) {
  return db`(warehouse_ids && ${allowed}::text[]
    OR (warehouse_ids = '{}' AND split_part(type, '.', 2) = ANY(${[...GLOBAL_EVENT_ENTITIES]}::text[])))`;
}

/** An event by id, sequenced or not yet; never a webhook.test one (they are not the feed's). */
export async function findEvent(
  db: Db,
  id: string,
): Promise<{ type: string; warehouse_ids: string[]; payload: unknown } | undefined> {
  const [row] = await db<{ type: string; warehouse_ids: string[]; payload: unknown }[]>`
    SELECT type, warehouse_ids, payload FROM outbox WHERE id = ${id} AND type <> 'webhook.test'`;
  return row;
}

/** The largest position given, as the caller's snapshot sees it. */
export async function lastPosition(db: Db): Promise<string> {
  const [row] = await db<{ last: string }[]>`SELECT last_position::text AS last FROM feed_state`;
  return row.last;
}

const PRUNE_BATCH = 1000;

/**
 * Deletes events older than `retentionDays` (and their deliveries): from the start of the feed in
 * position order, stopping at the first event still kept, so that every position up to
 * expired_through is gone; and webhook.test events, which have no position, by age. One batch;
 * returns how many events it deleted.
 */
export async function pruneFeed(db: Db, retentionDays: number): Promise<number> {
  const [{ deleted }] = await db<{ deleted: number }[]>`
    WITH head AS (
      SELECT id, position, created_at < now() - ${retentionDays}::float8 * interval '1 day' AS expired
      FROM outbox WHERE position IS NOT NULL ORDER BY position LIMIT ${PRUNE_BATCH}
    ), expired AS (
      SELECT id, position FROM head
      WHERE position < coalesce((SELECT min(position) FROM head WHERE NOT expired), 'Infinity'::numeric)
      UNION ALL
      (SELECT id, NULL FROM outbox
       WHERE position IS NULL AND dispatched_at IS NOT NULL AND type = 'webhook.test'
         AND created_at < now() - ${retentionDays}::float8 * interval '1 day'
       LIMIT ${PRUNE_BATCH})
    ), deliveries AS (
      DELETE FROM webhook_deliveries WHERE event_id IN (SELECT id FROM expired)
    ), events AS (
      DELETE FROM outbox WHERE id IN (SELECT id FROM expired) RETURNING position
    ), mark AS (
      UPDATE feed_state SET expired_through = greatest(expired_through, (SELECT max(position) FROM events))
      WHERE EXISTS (SELECT 1 FROM events WHERE position IS NOT NULL)
    )
    SELECT count(*)::int AS deleted FROM events`;
  return deleted;
}
