// The transactional outbox: an event row committed with the posting that caused it, so an event
// is never lost and never exists for a posting that rolled back. The webhook dispatcher reads it.
import type { PendingQuery } from 'postgres';
import type { components } from '../generated/api.ts';
import type { Db } from './client.ts';
import { newId } from './ids.ts';

/** NOTIFY channel of new events. The payload is empty: it only wakes dispatchers (see insertEvents). */
export const OUTBOX_CHANNEL = 'outbox';

export type EventType = 'inventory.stock_move.posted' | 'inventory.receipt.posted';

/** What `data` is for each type of event: the resource as the API returned it. */
export interface EventData {
  'inventory.stock_move.posted': components['schemas']['StockMove'];
  'inventory.receipt.posted': components['schemas']['Receipt'];
}

/** The event's body, as stored and as sent (the spec's StockMovePostedEvent, ReceiptPostedEvent). */
export interface OutboxEvent<T extends EventType = EventType> {
  id: string;
  type: T;
  timestamp: string;
  /** The warehouses the event concerns: who may receive it (docs/webhooks.md, "Who sees what"). */
  warehouse_ids: string[];
  data: EventData[T];
}

type AnyEvent = { [T in EventType]: { type: T; data: EventData[T] } }[EventType];

/**
 * The warehouses an event concerns, sorted and distinct: a stock move's source and destination
 * (either may be absent), a receipt's warehouse. The fan-out sends an event to an endpoint only
 * when the endpoint's claim can see them (db/webhook-dispatch.ts).
 */
export function warehousesOf(event: AnyEvent): string[] {
  const ids =
    event.type === 'inventory.stock_move.posted'
      ? [event.data.from_wh, event.data.to_wh]
      : [event.data.warehouse_id];
  return [...new Set(ids.filter((id) => id !== undefined && id !== null))].sort();
}

export function newEvent<T extends EventType>(
  type: T,
  data: EventData[T],
  timestamp = new Date().toISOString(),
): OutboxEvent<T> {
  const warehouse_ids = warehousesOf({ type, data } as AnyEvent);
  return { id: newId('evt'), type, timestamp, warehouse_ids, data };
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
      INSERT INTO outbox (id, type, warehouse_ids, payload)
      SELECT e->>'id', e->>'type', ARRAY(SELECT jsonb_array_elements_text(e->'warehouse_ids')), e
      FROM jsonb_array_elements(${db.json(events as never)}) AS e
      RETURNING id)
    SELECT pg_notify(${OUTBOX_CHANNEL}, '') FROM events`;
}

export async function enqueueEvent<T extends EventType>(
  db: Db,
  type: T,
  data: EventData[T],
): Promise<OutboxEvent<T>> {
  const event = newEvent(type, data);
  await insertEvents(db, [event]);
  return event;
}
