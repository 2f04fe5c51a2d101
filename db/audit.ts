// The audit-entry writer: every change to a resource records who, with which request, and the
// resource before and after, in the same transaction as the change.
import type { components } from '../generated/api.ts';
import type { PendingQuery } from 'postgres';
import { GLOBAL_ENTITIES } from '../domain/access.ts';
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
  | 'webhook_endpoint'
  | 'vendor_return'
  | 'status_change'
  | 'location'
  | 'putaway_rule'
  | 'vendor_item'
  | 'reorder_rule'
  | 'replenishment_run';

interface Entry {
  action: string;
  entityId: string;
  /** Warehouses the change concerns; warehouse-restricted tokens only see entries within theirs. */
  warehouseIds?: string[];
  before?: unknown;
  after?: unknown;
}

export type AuditEntry =
  | (Entry & { entity: Exclude<AuditEntity, 'webhook_endpoint'>; ownerClientId?: never })
  | (Entry & {
      entity: 'webhook_endpoint';
      /**
       * The endpoint's owner (its owner_client_id): only its tokens see the entry, whoever acted
       * (listAudit). Required, so that no entry falls back on the acting client.
       */
      ownerClientId: string;
    });

export interface Actor {
  sub: string;
  clientId: string;
  requestId: string;
}

/** The one statement that writes audit entries: any number of them, in the caller's transaction. */
export function insertAudits(
  db: Db,
  entries: { actor: Actor; entry: AuditEntry }[],
): PendingQuery<any> {
  const rows = entries.map(({ actor, entry }) => ({
    actor: actor.sub,
    client_id: actor.clientId,
    request_id: actor.requestId,
    action: entry.action,
    entity: entry.entity,
    entity_id: entry.entityId,
    warehouse_ids: entry.warehouseIds ?? [],
    before: entry.before ?? null,
    after: entry.after ?? null,
    owner_client_id: entry.ownerClientId ?? null,
  }));
  return db`
    INSERT INTO audit_log (actor, client_id, request_id, action, entity, entity_id, warehouse_ids, before, after, owner_client_id)
    SELECT actor, client_id, request_id, action, entity, entity_id, ARRAY(SELECT jsonb_array_elements_text(warehouse_ids)), before, after, owner_client_id
    FROM jsonb_to_recordset(${db.json(rows as never)}) AS a(actor text, client_id text, request_id text, action text,
      entity text, entity_id text, warehouse_ids jsonb, before jsonb, after jsonb, owner_client_id text)`;
}

export async function writeAudit(db: Db, actor: Actor, entry: AuditEntry): Promise<void> {
  await insertAudits(db, [{ actor, entry }]);
}

/** Rows are selected in exactly the API's shape. */
export type AuditRow = components['schemas']['AuditEntry'];

/**
 * Entities whose entries with no warehouses every token sees (GLOBAL_ENTITIES, canSee's `global`
 * in domain/access.ts); entries of any other entity with none (an unassigned purchase order, an
 * unrestricted webhook endpoint) are for unrestricted tokens only. Each is an entity of the log.
 */
const globalEntities: AuditEntity[] = [...GLOBAL_ENTITIES];

/** Who reads the log, besides the warehouses of the scoped page: see listAudit. */
export interface AuditFilters extends ScopedPage<[string]> {
  entity?: AuditEntity;
  entity_id?: string;
  /** The reader's client (principal.clientId). */
  clientId: string;
  /** Whether the reader's token has the `webhooks:manage` scope. */
  managesWebhooks: boolean;
}

/**
 * Newest first, by id (a sequence, so insertion order). What a reader sees (docs/standards.md §3):
 * - by canSee, in SQL: an unrestricted token every entry; a restricted one the entries whose
 *   warehouses overlap its claim, and those with none only for GLOBAL_ENTITIES;
 * - entries of webhook endpoints (which show their URLs, with any token in their query) only with
 *   `webhooks:manage`, and only of the reader's client's endpoints: the entry's owner_client_id,
 *   never the acting client (before migration 0008 any client could rotate or delete any
 *   endpoint) nor the owner a snapshot shows (older ones show none); an entry without one is no
 *   token's. Their warehouses are the endpoint's claim, and a restricted token sees them only
 *   when that claim lies within its own: exactly the endpoints it manages (managedBy,
 *   db/webhook-endpoints.ts), not those it would merely overlap.
 */
export async function listAudit(db: Db, f: AuditFilters): Promise<AuditRow[]> {
  return db<AuditRow[]>`
    SELECT id::text AS id, at, actor, client_id, request_id, action, entity, entity_id, before, after FROM audit_log
    WHERE true
      ${f.entity === undefined ? db`` : db`AND entity = ${f.entity}`}
      ${f.entity_id === undefined ? db`` : db`AND entity_id = ${f.entity_id}`}
      ${
        f.allowed === null
          ? db``
          : db`AND CASE WHEN entity = 'webhook_endpoint'
                    THEN cardinality(warehouse_ids) > 0 AND warehouse_ids <@ ${f.allowed}::text[]
                    ELSE warehouse_ids && ${f.allowed}::text[]
                      OR (cardinality(warehouse_ids) = 0 AND entity = ANY(${globalEntities}::text[]))
                    END`
      }
      ${
        f.managesWebhooks
          ? db`AND (entity <> 'webhook_endpoint' OR owner_client_id = ${f.clientId})`
          : db`AND entity <> 'webhook_endpoint'`
      }
      ${f.after === null ? db`` : db`AND id < ${f.after[0]}::bigint`}
    ORDER BY id DESC
    LIMIT ${f.limit + 1}`;
}
