import { newestKey } from '../db/keyset.ts';
import {
  findDelivery,
  listDeliveries,
  requeueDelivery,
  type WebhookDeliveryRow,
} from '../db/webhook-deliveries.ts';
import { auditScopeOf, findEndpoint } from '../db/webhook-endpoints.ts';
import { ProblemError, invalidState, notFound } from '../domain/problems.ts';
import type { Handlers } from './types.ts';

/** The API's view of a delivery: last_error absent rather than null. */
export function toDelivery({ last_error, ...row }: WebhookDeliveryRow) {
  return { ...row, ...(last_error !== null && { last_error }) };
}

export const webhookDeliveryHandlers = {
  async listWebhookDeliveries({ db, query, principal, page }) {
    // Only deliveries of endpoints this token manages (docs/webhooks.md, "Who sees what"); an
    // endpoint_id of any other endpoint lists nothing, as an unknown one does.
    const rows = await listDeliveries(db, principal, {
      endpointId: query.endpoint_id,
      status: query.status,
      after: page.after,
      limit: page.limit,
    });
    return { status: 200, body: page.result(rows.map(toDelivery), newestKey) };
  },

  async retryWebhookDelivery({ db, params, principal, audit }) {
    // 404 for a delivery of an endpoint this token does not manage, before anything about its state.
    const delivery = await findDelivery(db, params.id, principal, { lock: true });
    if (!delivery) throw notFound('webhook delivery', params.id);
    if (delivery.status !== 'FAILED')
      throw invalidState('Webhook delivery', delivery.id, delivery.status, ['FAILED'], 'retried');
    // Locked: an endpoint being disabled meanwhile must not get a PENDING delivery back afterwards.
    const endpoint = await findEndpoint(db, delivery.endpoint_id, principal, { lock: true });
    if (!endpoint?.active) {
      throw new ProblemError(
        'invalid-state',
        `Webhook delivery ${delivery.id} cannot be retried: its endpoint ${delivery.endpoint_id} is disabled (${endpoint?.disabled_reason ?? 'inactive'}). Create a new endpoint.`,
        {
          current_status: delivery.status,
          allowed_statuses: ['FAILED'],
        },
      );
    }
    // Attempts keep counting: a manual retry is one more attempt, FAILED again if it fails.
    const requeued = toDelivery(await requeueDelivery(db, delivery.id));
    await audit({
      action: 'webhook_delivery.retried',
      entity: 'webhook_endpoint',
      entityId: delivery.endpoint_id,
      // The endpoint's owner and claim, as its other entries.
      ...auditScopeOf(endpoint),
      before: toDelivery(delivery),
      after: requeued,
    });
    return { status: 200, body: requeued };
  },
} satisfies Pick<Handlers, 'listWebhookDeliveries' | 'retryWebhookDelivery'>;
