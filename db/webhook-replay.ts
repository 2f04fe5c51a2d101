// Sending events to one endpoint on request: past events again (replay), or a new test event.
// Both write deliveries directly; the dispatcher sends them like any other (db/webhook-dispatch.ts).
import type { components } from '../generated/api.ts';
import type { Db } from './client.ts';
import { newId } from './ids.ts';
import {
  deliveryColumns,
  dueNow,
  notifyDue,
  type WebhookDeliveryRow,
} from './webhook-deliveries.ts';

export type WebhookTestEvent = components['schemas']['WebhookTestEvent'];

/** An outbox event as replay judges it: what it is and whom it concerns, not its payload. */
export interface ReplayableEvent {
  id: string;
  type: string;
  warehouse_ids: string[];
  /** Its position in the feed (a decimal string); null until sequenced, and forever for test events. */
  position: string | null;
}

const eventColumns = (db: Db) => db`id, type, warehouse_ids, position::text AS position`;

/** Up to `limit` events of `types` after `position`, in feed order. */
export async function eventsAfter(
  db: Db,
  position: string,
  types: readonly string[],
  limit: number,
): Promise<ReplayableEvent[]> {
  return db<ReplayableEvent[]>`
    SELECT ${eventColumns(db)} FROM outbox
    WHERE position > ${position}::bigint AND type = ANY(${types as string[]}::text[])
    ORDER BY outbox.position -- the column: the output's position is text
    LIMIT ${limit}`;
}

/** The events of these ids that are kept, in no particular order. */
export async function eventsById(db: Db, ids: readonly string[]): Promise<ReplayableEvent[]> {
  return db<ReplayableEvent[]>`
    SELECT ${eventColumns(db)} FROM outbox WHERE id = ANY(${ids as string[]}::text[])`;
}

/**
 * Makes one delivery of each event to the endpoint due now, and returns how many: a new delivery,
 * or the existing one of (endpoint, event) made PENDING again (dueNow: attempts keep counting).
 * A delivery leased to a dispatcher (an attempt in flight) is left to that attempt, and not
 * counted. Rows are written in event id order, so concurrent replays of overlapping events wait
 * for each other instead of deadlocking; the unique (endpoint_id, event_id) keeps one row each.
 */
export async function queueDeliveries(
  db: Db,
  endpointId: string,
  events: readonly Pick<ReplayableEvent, 'id' | 'type'>[],
): Promise<number> {
  if (events.length === 0) return 0;
  const sorted = [...events].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const rows = await db`
    INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type)
    SELECT d.id, ${endpointId}, d.event_id, d.event_type
    FROM unnest(${sorted.map(() => newId('whd'))}::text[], ${sorted.map((e) => e.id)}::text[],
                ${sorted.map((e) => e.type)}::text[]) WITH ORDINALITY AS d(id, event_id, event_type, n)
    ORDER BY d.n
    ON CONFLICT (endpoint_id, event_id) DO UPDATE SET ${dueNow(db)}
      WHERE webhook_deliveries.lease_token IS NULL
    RETURNING id`;
  if (rows.length > 0) await notifyDue(db);
  return rows.length;
}

/**
 * Writes a test event and its one delivery, to this endpoint only. The event is born dispatched
 * (and never sequenced: position stays null), so no fan-out ever sends it to the endpoints
 * subscribed to everything, and the feed never shows it. That is why it is not written by
 * insertEvents (db/outbox.ts), whose events are for everyone the fan-out finds.
 */
export async function insertTestDelivery(
  db: Db,
  endpointId: string,
  event: WebhookTestEvent,
): Promise<WebhookDeliveryRow> {
  await db`
    INSERT INTO outbox (id, type, warehouse_ids, payload, dispatched_at)
    VALUES (${event.id}, ${event.type}, ${event.warehouse_ids}::text[], ${db.json(event as never)}, now())`;
  const [row] = await db<WebhookDeliveryRow[]>`
    INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type)
    VALUES (${newId('whd')}, ${endpointId}, ${event.id}, ${event.type})
    RETURNING ${deliveryColumns(db)}`;
  await notifyDue(db, row.id);
  return row;
}
