// The transactional outbox: an event row committed with the posting that caused it, so an event
// is never lost and never exists for a posting that rolled back. The webhook dispatcher reads it.
import type { PendingQuery } from 'postgres';
import type { Db } from './client.ts';
import { newId } from './ids.ts';

/** NOTIFY channel of new events. The payload is empty: it only wakes dispatchers (see insertEvents). */
export const OUTBOX_CHANNEL = 'outbox';

export type EventType = 'inventory.stock_move.posted' | 'inventory.receipt.posted';

export interface OutboxEvent {
  id: string;
  type: EventType;
  timestamp: string;
  data: unknown;
}

export function newEvent(
  type: EventType,
  data: unknown,
  timestamp = new Date().toISOString(),
): OutboxEvent {
  return { id: newId('evt'), type, timestamp, data };
}

/**
 * The one statement that writes events: any number of them, in the caller's transaction. NOTIFY
 * wakes dispatchers in every instance, and is delivered only if the transaction commits. With the
 * same (empty) payload PostgreSQL folds a transaction's notifications into one, so a group-commit
 * batch of many postings wakes each dispatcher once. Await it, or execute() it to pipeline it.
 */
export function insertEvents(db: Db, events: OutboxEvent[]): PendingQuery<any> {
  return db`
    WITH events AS (
      INSERT INTO outbox (id, type, payload)
      SELECT e->>'id', e->>'type', e FROM jsonb_array_elements(${db.json(events as never)}) AS e
      RETURNING id)
    SELECT pg_notify(${OUTBOX_CHANNEL}, '') FROM events`;
}

export async function enqueueEvent(db: Db, type: EventType, data: unknown): Promise<OutboxEvent> {
  const event = newEvent(type, data);
  await insertEvents(db, [event]);
  return event;
}
