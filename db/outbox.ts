// The transactional outbox: an event row committed with the change that caused it, so an event is
// never lost and never exists for a change that rolled back. The webhook dispatcher and the feed
// read it. What events there are is the spec's (its `Event` union, docs/events.md).
import type { PendingQuery } from 'postgres';
import type { components } from '../generated/api.ts';
import type { Db } from './client.ts';
import { newId } from './ids.ts';

/** NOTIFY channel of new events. The payload is empty: it only wakes dispatchers (see insertEvents). */
export const OUTBOX_CHANNEL = 'outbox';

type SpecEvent = components['schemas']['Event'];

/** Every type of event in the spec's catalogue. */
export type EventType = SpecEvent['type'];

/** What `data` is for each type of event: the resource as the API shows it. */
export type EventData = { [T in EventType]: Extract<SpecEvent, { type: T }>['data'] };

/** The event's body, as stored and as sent (one of the spec's `Event` union). */
export interface OutboxEvent<T extends EventType = EventType> {
  id: string;
  type: T;
  timestamp: string;
  /**
   * The warehouses the resource belongs to, by the rule its visibility uses: who may see the
   * event (docs/webhooks.md, "Who sees what"). Empty for global resources (items, warehouses,
   * vendors), which everyone sees (domain/events.ts), and for unassigned documents.
   */
  warehouse_ids: string[];
  data: EventData[T];
}

/**
 * An event about a resource of `warehouseIds`, which the caller works out where it builds the
 * event, by the resource's own rule (handlers/lib/events.ts); kept sorted and distinct.
 */
export function newEvent<T extends EventType>(
  type: T,
  data: EventData[T],
  warehouseIds: readonly (string | null | undefined)[],
  timestamp = new Date().toISOString(),
): OutboxEvent<T> {
  const warehouse_ids = [
    ...new Set(warehouseIds.filter((id): id is string => typeof id === 'string')),
  ].sort();
  return { id: newId('evt'), type, timestamp, warehouse_ids, data };
}

/**
 * The one statement that writes events: any number of them, in the caller's transaction. NOTIFY
 * wakes dispatchers in every instance, and is delivered only if the transaction commits. With the
 * same (empty) payload PostgreSQL folds a transaction's notifications into one, so a group-commit
 * batch of many postings wakes each dispatcher once. Await it, or execute() it to pipeline it.
 *
 * Send it as the transaction's last write, after every row lock and update (only the bookkeeping
 * of the write path, stored answers and audit entries, may follow). The feed orders events of
 * concurrent transactions by the `seq` taken here, so two transactions that touch the same row
 * must take theirs while holding its lock: then they take them in the order they commit. One call
 * per transaction (or batch), with all its events.
 */
export function insertEvents(db: Db, events: OutboxEvent[]): PendingQuery<any> {
  return db`
    WITH events AS (
      INSERT INTO outbox (id, type, warehouse_ids, payload)
      SELECT e->>'id', e->>'type', ARRAY(SELECT jsonb_array_elements_text(e->'warehouse_ids')), e
      FROM jsonb_array_elements(${db.json(events as never)}) WITH ORDINALITY AS t (e, n)
      -- In the order given, so that their seqs (the feed's order within a fan-out) follow it.
      ORDER BY n
      RETURNING id)
    SELECT pg_notify(${OUTBOX_CHANNEL}, '') FROM events`;
}
