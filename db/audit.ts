// The audit-entry writer: every change to a resource records who, with which request, and the
// resource before and after, in the same transaction as the change.
import type { components } from '../generated/api.ts';
import type { Db } from './client.ts';
import type { ScopedPage } from './listing.ts';

export type AuditEntity =
  | 'warehouse'
  | 'item'
  | 'stock_move'
  | 'reservation'
  | 'vendor'
  | 'requisition'
  | 'purchase_order'
  | 'receipt'
  | 'invoice'
  | 'webhook_endpoint';

export interface AuditEntry {
  action: string;
  entity: AuditEntity;
  entityId: string;
  /** Warehouses the change concerns; warehouse-restricted tokens only see entries within theirs. */
  warehouseIds?: string[];
  before?: unknown;
  after?: unknown;
}

export async function writeAudit(
  db: Db,
  actor: { sub: string; clientId: string; requestId: string },
  entry: AuditEntry,
): Promise<void> {
  await db`
    INSERT INTO audit_log (actor, client_id, request_id, action, entity, entity_id, warehouse_ids, before, after)
    VALUES (${actor.sub}, ${actor.clientId}, ${actor.requestId}, ${entry.action}, ${entry.entity}, ${entry.entityId},
            ${entry.warehouseIds ?? []}, ${entry.before === undefined ? null : db.json(entry.before as any)},
            ${entry.after === undefined ? null : db.json(entry.after as any)})`;
}

/** Rows are selected in exactly the API's shape. */
export type AuditRow = components['schemas']['AuditEntry'];

/** Entries about no warehouse (e.g. items) are visible to every reader. */
export interface AuditFilters extends ScopedPage<[string]> {
  entity?: AuditEntity;
  entity_id?: string;
}

/** Newest first, by id (a sequence, so insertion order). */
export async function listAudit(db: Db, f: AuditFilters): Promise<AuditRow[]> {
  return db<AuditRow[]>`
    SELECT id::text AS id, at, actor, client_id, request_id, action, entity, entity_id, before, after FROM audit_log
    WHERE true
      ${f.entity === undefined ? db`` : db`AND entity = ${f.entity}`}
      ${f.entity_id === undefined ? db`` : db`AND entity_id = ${f.entity_id}`}
      ${f.allowed === null ? db`` : db`AND (cardinality(warehouse_ids) = 0 OR warehouse_ids && ${f.allowed}::text[])`}
      ${f.after === null ? db`` : db`AND id < ${f.after[0]}::bigint`}
    ORDER BY id DESC
    LIMIT ${f.limit + 1}`;
}
