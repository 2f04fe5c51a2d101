// The transactional outbox: an event row committed with the posting that caused it, so an event
// is never lost and never exists for a posting that rolled back. The webhook dispatcher reads it.
import type { Db } from './client.ts';
import { newId } from './ids.ts';

/** NOTIFY channel of new events. The payload is empty: it only wakes dispatchers (see enqueueEvent). */
export const OUTBOX_CHANNEL = 'outbox';

export type EventType = 'inventory.stock_move.posted' | 'inventory.receipt.posted';

export interface OutboxEvent {
  id: string;
  type: EventType;
  timestamp: string;
  data: unknown;
}

export async function enqueueEvent(db: Db, type: EventType, data: unknown): Promise<OutboxEvent> {
  const event: OutboxEvent = { id: newId('evt'), type, timestamp: new Date().toISOString(), data };
  // NOTIFY wakes dispatchers in every instance, and is delivered only if this transaction commits.
  // With the same (empty) payload PostgreSQL folds a transaction's notifications into one, so a
  // group-commit batch of many postings wakes each dispatcher once.
  await db`
    WITH event AS (INSERT INTO outbox (id, type, payload) VALUES (${event.id}, ${type}, ${db.json(event as any)}) RETURNING id)
    SELECT pg_notify(${OUTBOX_CHANNEL}, '') FROM event`;
  return event;
}
