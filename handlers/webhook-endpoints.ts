import {
  auditScopeOf,
  deleteEndpoint,
  findEndpoint,
  insertEndpoint,
  listEndpoints,
  rotateSecret,
  type WebhookEndpointRow,
} from '../db/webhook-endpoints.ts';
import { newId } from '../db/ids.ts';
import { invalidField, notFound } from '../domain/problems.ts';
import { assertMayCreateEndpoint, claimOf } from '../domain/webhooks/ownership.ts';
import { newSecret } from '../domain/webhooks/signature.ts';
import { urlProblem } from '../domain/webhooks/targets.ts';
import { present, withEtag } from './lib/documents.ts';
import { assertCurrent } from './lib/versioned.ts';
import type { Handlers } from './types.ts';

/**
 * The API's view of an endpoint (the row holds no secret): unset fields absent, the ETag from the
 * version. Every response and every audit entry of an endpoint shows this, the dispatcher's
 * disabling included (server/webhooks/dispatcher.ts).
 */
export function toEndpoint(row: WebhookEndpointRow) {
  return withEtag(present(row));
}

// Every lookup below is limited to the endpoints the token manages (managedBy,
// db/webhook-endpoints.ts): any other is 404, as if absent, so ids of other clients' endpoints
// are not even confirmed to exist.

const pathOf = (id: string) => `/webhooks/endpoints/${encodeURIComponent(id)}`;

export const webhookEndpointHandlers = {
  async createWebhookEndpoint({ db, body, config, principal, audit }) {
    assertMayCreateEndpoint(principal);
    const problem = await urlProblem(body.url, {
      allowPrivate: config.webhooks.allowPrivate,
      httpsOnly: config.production,
    });
    if (problem) throw invalidField('#/url', problem.code, problem.detail);
    const secret = newSecret();
    const row = await insertEndpoint(db, {
      id: newId('whk'),
      url: body.url,
      description: body.description,
      events: body.events,
      secret,
      // Its creator's client manages it, and it keeps its creator's claim (docs/webhooks.md).
      owner_client_id: principal.clientId,
      warehouses: claimOf(principal),
    });
    const endpoint = toEndpoint(row);
    await audit({
      action: 'webhook_endpoint.created',
      entity: 'webhook_endpoint',
      entityId: endpoint.id,
      ...auditScopeOf(row),
      after: endpoint,
    });
    // The only response that ever carries the secret (besides a rotation's).
    return {
      status: 201,
      body: { ...endpoint, secret },
      etag: endpoint.etag,
      location: pathOf(endpoint.id),
    };
  },

  async listWebhookEndpoints({ db, principal, page }) {
    const rows = await listEndpoints(db, principal, {
      after: page.after as [string, string] | undefined,
      limit: page.limit,
    });
    return { status: 200, body: page.result(rows.map(toEndpoint), (e) => [e.created_at, e.id]) };
  },

  async getWebhookEndpoint({ db, params, principal }) {
    const row = await findEndpoint(db, params.id, principal);
    if (!row) throw notFound('webhook endpoint', params.id);
    const endpoint = toEndpoint(row);
    return { status: 200, body: endpoint, etag: endpoint.etag };
  },

  async deleteWebhookEndpoint({ db, params, ifMatch, principal, audit }) {
    const row = await findEndpoint(db, params.id, principal, { lock: true });
    if (!row) throw notFound('webhook endpoint', params.id);
    // If-Match is optional here; when sent, it must name the current version.
    if (ifMatch !== undefined) assertCurrent(ifMatch, row.version, 'webhook endpoint');
    await deleteEndpoint(db, row.id);
    await audit({
      action: 'webhook_endpoint.deleted',
      entity: 'webhook_endpoint',
      entityId: row.id,
      ...auditScopeOf(row),
      before: toEndpoint(row),
    });
    return { status: 204, body: undefined };
  },

  async rotateWebhookEndpointSecret({ db, params, ifMatch, principal, audit }) {
    const current = await findEndpoint(db, params.id, principal, { lock: true });
    if (!current) throw notFound('webhook endpoint', params.id);
    assertCurrent(ifMatch, current.version, 'webhook endpoint');
    const secret = newSecret();
    const endpoint = toEndpoint(await rotateSecret(db, current.id, secret));
    await audit({
      action: 'webhook_endpoint.secret_rotated',
      entity: 'webhook_endpoint',
      entityId: endpoint.id,
      ...auditScopeOf(current),
      before: toEndpoint(current),
      after: endpoint,
    });
    return { status: 200, body: { ...endpoint, secret }, etag: endpoint.etag };
  },
} satisfies Pick<
  Handlers,
  | 'createWebhookEndpoint'
  | 'listWebhookEndpoints'
  | 'getWebhookEndpoint'
  | 'deleteWebhookEndpoint'
  | 'rotateWebhookEndpointSecret'
>;
