// The audit-entry writer: every change to a resource records who, with which request, and the
// resource before and after, in the same transaction as the change.
import type { Db } from './client.ts';

export type AuditEntity = 'warehouse' | 'item' | 'stock_move' | 'reservation' | 'vendor' | 'requisition' | 'purchase_order' | 'receipt' | 'invoice' | 'webhook_endpoint';

export interface AuditEntry {
  action: string;
  entity: AuditEntity;
  entityId: string;
  /** Warehouses the change concerns; warehouse-restricted tokens only see entries within theirs. */
  warehouseIds?: string[];
  before?: unknown;
  after?: unknown;
}

export async function writeAudit(db: Db, actor: { sub: string; clientId: string; requestId: string }, entry: AuditEntry): Promise<void> {
  await db`
    INSERT INTO audit_log (actor, client_id, request_id, action, entity, entity_id, warehouse_ids, before, after)
    VALUES (${actor.sub}, ${actor.clientId}, ${actor.requestId}, ${entry.action}, ${entry.entity}, ${entry.entityId},
            ${entry.warehouseIds ?? []}, ${entry.before === undefined ? null : db.json(entry.before as any)},
            ${entry.after === undefined ? null : db.json(entry.after as any)})`;
}
