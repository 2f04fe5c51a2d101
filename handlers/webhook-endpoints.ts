import {
  deleteEndpoint,
  findEndpoint,
  insertEndpoint,
  listEndpoints,
  rotateSecret,
  type WebhookEndpointRow,
} from '../db/webhook-endpoints.ts';
import { newId } from '../db/ids.ts';
import { invalidField, notFound } from '../domain/problems.ts';
import { newSecret } from '../domain/webhooks/signature.ts';
import { urlProblem } from '../domain/webhooks/targets.ts';
import { present, withEtag } from './lib/documents.ts';
import { assertCurrent } from './lib/versioned.ts';
import type { Handlers } from './types.ts';

/** The API's view of an endpoint (the row holds no secret): unset fields absent, the ETag from the version. */
function toEndpoint(row: WebhookEndpointRow) {
  return withEtag(present(row));
}

const pathOf = (id: string) => `/webhooks/endpoints/${encodeURIComponent(id)}`;

export const webhookEndpointHandlers = {
  async createWebhookEndpoint({ db, body, config, audit }) {
    const problem = await urlProblem(body.url, {
      allowPrivate: config.webhooks.allowPrivate,
      httpsOnly: config.production,
    });
    if (problem) throw invalidField('#/url', problem.code, problem.detail);
    const secret = newSecret();
    const endpoint = toEndpoint(
      await insertEndpoint(db, {
        id: newId('whk'),
        url: body.url,
        description: body.description,
        events: body.events,
        secret,
      }),
    );
    await audit({
      action: 'webhook_endpoint.created',
      entity: 'webhook_endpoint',
      entityId: endpoint.id,
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

  async listWebhookEndpoints({ db, page }) {
    const rows = await listEndpoints(db, {
      after: page.after as [string, string] | undefined,
      limit: page.limit,
    });
    return { status: 200, body: page.result(rows.map(toEndpoint), (e) => [e.created_at, e.id]) };
  },

  async getWebhookEndpoint({ db, params }) {
    const row = await findEndpoint(db, params.id);
    if (!row) throw notFound('webhook endpoint', params.id);
    const endpoint = toEndpoint(row);
    return { status: 200, body: endpoint, etag: endpoint.etag };
  },

  async deleteWebhookEndpoint({ db, params, ifMatch, audit }) {
    const row = await findEndpoint(db, params.id, { lock: true });
    if (!row) throw notFound('webhook endpoint', params.id);
    // If-Match is optional here; when sent, it must name the current version.
    if (ifMatch !== undefined) assertCurrent(ifMatch, row.version, 'webhook endpoint');
    await deleteEndpoint(db, row.id);
    await audit({
      action: 'webhook_endpoint.deleted',
      entity: 'webhook_endpoint',
      entityId: row.id,
      before: toEndpoint(row),
    });
    return { status: 204, body: undefined };
  },

  async rotateWebhookEndpointSecret({ db, params, ifMatch, audit }) {
    const current = await findEndpoint(db, params.id, { lock: true });
    if (!current) throw notFound('webhook endpoint', params.id);
    assertCurrent(ifMatch, current.version, 'webhook endpoint');
    const secret = newSecret();
    const endpoint = toEndpoint(await rotateSecret(db, current.id, secret));
    await audit({
      action: 'webhook_endpoint.secret_rotated',
      entity: 'webhook_endpoint',
      entityId: endpoint.id,
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
