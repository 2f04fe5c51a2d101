import { listAudit } from '../db/audit.ts';
import type { Handlers } from './types.ts';

export const auditHandlers = {
  async listAuditEntries({ db, query, principal, page }) {
    const rows = await listAudit(db, {
      entity: query.entity,
      entity_id: query.id,
      allowed: principal.warehouses && [...principal.warehouses],
      afterId: (page.after?.[0] as string | undefined) ?? null,
      limit: page.limit,
    });
    return { status: 200, body: page.result(rows, (e) => [e.id]) };
  },
} satisfies Pick<Handlers, 'listAuditEntries'>;
