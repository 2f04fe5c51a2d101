// Sending events to one endpoint on request (docs/webhooks.md, "Replay and test"): past events
// again, from a feed cursor or by id, or a new test event.
import { feedExpiredAfter } from '../db/feed.ts';
import { newId } from '../db/ids.ts';
import {
  eventsAfter,
  eventsById,
  insertTestDelivery,
  queueDeliveries,
  type ReplayableEvent,
  type WebhookTestEvent,
} from '../db/webhook-replay.ts';
import { auditScopeOf, findEndpoint, type WebhookEndpointRow } from '../db/webhook-endpoints.ts';
import type { Db } from '../db/client.ts';
import type { Principal } from '../domain/access.ts';
import type { FeedCursors } from '../domain/pages.ts';
import { ProblemError, invalid, notFound, type FieldError } from '../domain/problems.ts';
import { isFor, receives } from '../domain/webhooks/ownership.ts';
import { toDelivery } from './webhook-deliveries.ts';
import type { Handlers } from './types.ts';

/** Events looked at per replay from a cursor: one transaction's worth; `next_after` goes on. */
export const REPLAY_MAX = 10_000;

const TEST_EVENT: WebhookTestEvent['type'] = 'webhook.test';

/**
 * The endpoint, managed by this token (else 404, as the other endpoint operations) and active.
 * Share-locked: a 410 disabling it meanwhile waits for this transaction, and so fails the
 * deliveries it queues, rather than leaving them PENDING for a disabled endpoint.
 */
async function activeEndpoint(db: Db, id: string, principal: Principal) {
  const endpoint = await findEndpoint(db, id, principal, { lock: 'share' });
  if (!endpoint) throw notFound('webhook endpoint', id);
  if (!endpoint.active) {
    throw new ProblemError(
      'invalid-state',
      `Webhook endpoint ${id} is disabled (${endpoint.disabled_reason ?? 'inactive'}); it is sent nothing more. Create a new endpoint.`,
      { current_status: 'DISABLED', allowed_statuses: ['ACTIVE'] },
    );
  }
  return endpoint;
}

/** The events after the cursor that are for the endpoint (as the fan-out judges), and where to go on. */
async function afterCursor(
  db: Db,
  feed: FeedCursors,
  endpoint: WebhookEndpointRow,
  cursor: string,
): Promise<{ events: ReplayableEvent[]; nextAfter?: string }> {
  const position = feed.position(cursor);
  const expired = () =>
    new ProblemError(
      'cursor-expired',
      'The feed no longer holds every event after this cursor, so they cannot all be sent again. Replay the ones you need by event_ids, or copy the lists again.',
    );
  if (await feedExpiredAfter(db, position)) throw expired();
  const looked = await eventsAfter(db, position, endpoint.events, REPLAY_MAX + 1);
  // Retention may have deleted events between the check and the read (two snapshots): the check
  // again sees any such deletion, so nothing is skipped without a 410.
  if (await feedExpiredAfter(db, position)) throw expired();
  const more = looked.length > REPLAY_MAX;
  const events = looked.slice(0, REPLAY_MAX);
  const last = events.at(-1)?.position;
  return {
    events: events.filter((event) => isFor(endpoint, event)),
    ...(more && last && { nextAfter: feed.cursor(last) }),
  };
}

/** The listed events, each one the endpoint would have been sent; else 422 naming each that is not. */
async function listed(
  db: Db,
  endpoint: WebhookEndpointRow,
  ids: readonly string[],
): Promise<ReplayableEvent[]> {
  const found = new Map((await eventsById(db, ids)).map((event) => [event.id, event]));
  const events: ReplayableEvent[] = [];
  const errors: FieldError[] = [];
  ids.forEach((id, n) => {
    const event = found.get(id);
    const pointer = `#/event_ids/${n}`;
    // Events it may not receive (another warehouse's, another endpoint's test) are as unknown
    // to it as those that never existed: their ids are not confirmed.
    if (!event || event.type === TEST_EVENT || !receives(endpoint.warehouses, event)) {
      errors.push({
        pointer,
        code: 'unknown_event',
        detail: `No event ${id} is kept that this endpoint may receive.`,
      });
    } else if (!isFor(endpoint, event)) {
      errors.push({
        pointer,
        code: 'not_subscribed',
        detail: `Event ${id} is ${event.type}, which endpoint ${endpoint.id} does not subscribe to.`,
      });
    } else events.push(event);
  });
  if (errors.length > 0) throw invalid(errors);
  return events;
}

export const webhookReplayHandlers = {
  async replayWebhookEvents({ db, params, body, principal, feed, audit }) {
    const endpoint = await activeEndpoint(db, params.id, principal);
    const { events, nextAfter } =
      'after' in body
        ? await afterCursor(db, feed, endpoint, body.after)
        : { events: await listed(db, endpoint, body.event_ids), nextAfter: undefined };
    const result = {
      queued: await queueDeliveries(db, endpoint.id, events),
      ...(nextAfter !== undefined && { next_after: nextAfter }),
    };
    await audit({
      action: 'webhook_endpoint.replayed',
      entity: 'webhook_endpoint',
      entityId: endpoint.id,
      ...auditScopeOf(endpoint),
      after: { ...body, ...result },
    });
    return { status: 202, body: result };
  },

  async testWebhookEndpoint({ db, params, principal, actor, audit }) {
    const endpoint = await activeEndpoint(db, params.id, principal);
    const event: WebhookTestEvent = {
      id: newId('evt'),
      type: TEST_EVENT,
      timestamp: new Date().toISOString(),
      warehouse_ids: [],
      data: { endpoint_id: endpoint.id, request_id: actor.requestId },
    };
    const delivery = toDelivery(await insertTestDelivery(db, endpoint.id, event));
    await audit({
      action: 'webhook_endpoint.tested',
      entity: 'webhook_endpoint',
      entityId: endpoint.id,
      ...auditScopeOf(endpoint),
      after: delivery,
    });
    return { status: 202, body: delivery };
  },
} satisfies Pick<Handlers, 'replayWebhookEvents' | 'testWebhookEndpoint'>;
