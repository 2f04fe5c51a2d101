import { listAudit } from '../db/audit.ts';
import { scopedPage } from './lib/listing.ts';
import type { Handlers } from './types.ts';

export const auditHandlers = {
  async listAuditEntries({ db, query, principal, page }) {
    const rows = await listAudit(db, {
      entity: query.entity,
      entity_id: query.id,
      ...scopedPage<[string]>(principal, page),
      clientId: principal.clientId,
      managesWebhooks: principal.scopes.has('webhooks:manage'),
    });
    return { status: 200, body: page.result(rows, (e) => [e.id]) };
  },
} satisfies Pick<Handlers, 'listAuditEntries'>;
