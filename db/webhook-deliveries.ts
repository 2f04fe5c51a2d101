// Webhook deliveries as the API shows them. How they are created, claimed and attempted is in
// db/webhook-dispatch.ts.
import type { Principal } from '../domain/access.ts';
import { newestFirst, olderThan } from './keyset.ts';
import type { Db } from './client.ts';
import type { EventType } from './outbox.ts';
import { managedBy } from './webhook-endpoints.ts';

export type DeliveryStatus = 'PENDING' | 'SUCCEEDED' | 'FAILED';

export interface WebhookDeliveryRow {
  id: string;
  endpoint_id: string;
  event_id: string;
  /** A test event's (POST /webhooks/endpoints/{id}/test) is never one an endpoint subscribes to. */
  event_type: EventType | 'webhook.test';
  status: DeliveryStatus;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
  created_at: string;
  updated_at: string;
}

/** Channel the dispatchers LISTEN on for deliveries made due by hand (the outbox has its own). */
export const DELIVERIES_CHANNEL = 'webhook_deliveries';

/** A delivery's columns as the API shows them (never its lease). */
export const deliveryColumns = (db: Db) =>
  db`id, endpoint_id, event_id, event_type, status, attempts, last_status_code, last_error, next_attempt_at, created_at, updated_at`;

/**
 * What makes an existing delivery due again at once (a manual retry, a replay): the same row, so
 * the same webhook-id, with its history kept (attempts keep counting; last_status_code and
 * last_error describe the last attempt until the next one). The caller must notifyDue.
 */
export const dueNow = (db: Db) =>
  db`status = 'PENDING', next_attempt_at = now(), lease_token = NULL, updated_at = now()`;

/** Wakes the dispatchers for deliveries made due by hand, once the transaction commits. */
export async function notifyDue(db: Db, payload = ''): Promise<void> {
  await db`SELECT pg_notify(${DELIVERIES_CHANNEL}, ${payload})`;
}

/**
 * Deliveries of the endpoints `principal` manages (managedBy, db/webhook-endpoints.ts): the
 * deliveries of any other endpoint are 404, as the endpoint is (and left out of lists, which
 * start from the managed endpoints: listDeliveries).
 */
const ofManagedEndpoint = (db: Db, principal: Principal) =>
  db`endpoint_id IN (SELECT id FROM webhook_endpoints WHERE ${managedBy(db, principal)})`;

/**
 * Newest first; `after` is the keyset key (db/keyset.ts) of the previous page's last row.
 *
 * The endpoints `principal` manages are looked up first, then each one's newest deliveries are
 * read from webhook_deliveries_by_endpoint (at most a page each) and merged. Filtering the whole
 * table by a subquery of endpoints would walk webhook_deliveries_newest row by row through every
 * other client's deliveries to fill a page.
 */
export async function listDeliveries(
  db: Db,
  principal: Principal,
  f: { endpointId?: string; status?: DeliveryStatus; after: unknown[] | null; limit: number },
): Promise<WebhookDeliveryRow[]> {
  const endpoints = await db<{ id: string }[]>`
    SELECT id FROM webhook_endpoints
    WHERE ${managedBy(db, principal)}
      ${f.endpointId === undefined ? db`` : db`AND id = ${f.endpointId}`}`;
  if (endpoints.length === 0) return [];
  return db<WebhookDeliveryRow[]>`
    SELECT d.* FROM unnest(${endpoints.map((e) => e.id)}::text[]) AS managed(endpoint)
    CROSS JOIN LATERAL (
      SELECT ${deliveryColumns(db)} FROM webhook_deliveries
      WHERE endpoint_id = managed.endpoint
        ${f.status === undefined ? db`` : db`AND status = ${f.status}`}
        ${olderThan(db, f.after)}
      ${newestFirst(db)}
      LIMIT ${f.limit + 1}
    ) d
    ${newestFirst(db)}
    LIMIT ${f.limit + 1}`;
}

/** The delivery, if `principal` manages its endpoint; null otherwise, as if it did not exist. */
export async function findDelivery(
  db: Db,
  id: string,
  principal: Principal,
  { lock = false } = {},
): Promise<WebhookDeliveryRow | null> {
  const [row] = await db<WebhookDeliveryRow[]>`
    SELECT ${deliveryColumns(db)} FROM webhook_deliveries WHERE id = ${id} AND ${ofManagedEndpoint(db, principal)}
    ${lock ? db`FOR UPDATE` : db``}`;
  return row ?? null;
}

/** FAILED → PENDING, due now; the dispatchers hear of it when the transaction commits. */
export async function requeueDelivery(db: Db, id: string): Promise<WebhookDeliveryRow> {
  const [row] = await db<WebhookDeliveryRow[]>`
    UPDATE webhook_deliveries SET ${dueNow(db)}
    WHERE id = ${id}
    RETURNING ${deliveryColumns(db)}`;
  await notifyDue(db, id);
  return row;
}
