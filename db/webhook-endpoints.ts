import type { Principal } from '../domain/access.ts';
import type { Db } from './client.ts';
import type { EventType } from './outbox.ts';

export interface WebhookEndpointRow {
  id: string;
  url: string;
  description: string | null;
  events: EventType[];
  /**
   * The client whose tokens manage it (docs/webhooks.md, "Who sees what"). The column is null only
   * for endpoints migration 0008 found no owner for (and disabled): managedBy never returns them.
   */
  owner_client_id: string;
  /** Its creator's warehouses claim, sorted: it receives only what that claim may see. Null: all. */
  warehouses: string[] | null;
  active: boolean;
  disabled_reason: string | null;
  previous_secret_expires_at: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}

/**
 * What an endpoint's audit entries carry besides their change: its owner, and its claim as their
 * warehouses, so that the tokens that manage it, and only they, see them (listAudit, db/audit.ts;
 * docs/webhooks.md, "Who sees what").
 */
export const auditScopeOf = (row: Pick<WebhookEndpointRow, 'owner_client_id' | 'warehouses'>) => ({
  ownerClientId: row.owner_client_id,
  warehouseIds: row.warehouses ?? [],
});

/** After a rotation the previous secret keeps signing this long (docs/standards.md §8). */
const ROTATION_GRACE = '24 hours';

// Never the secrets: they leave the database only in the dispatcher's claim (claimDue, db/webhook-dispatch.ts).
const columns = (db: Db) =>
  db`id, url, description, events, owner_client_id, warehouses, active, disabled_reason, previous_secret_expires_at, version, created_at, updated_at`;

/**
 * The endpoints `principal` manages (docs/webhooks.md, "Who sees what"): those its client made,
 * and, for a warehouse-restricted token, only those whose claim lies within its own (each of the
 * endpoint's warehouses passes canSee), so no token controls events it could not see itself. An
 * unrestricted endpoint (warehouses null) is managed by unrestricted tokens only; one without an
 * owner by none. Every lookup of endpoints for a request goes through this.
 */
export const managedBy = (db: Db, principal: Principal) =>
  db`owner_client_id = ${principal.clientId} ${
    principal.warehouses === null
      ? db``
      : db`AND warehouses <@ ${[...principal.warehouses]}::text[]`
  }`;

export async function insertEndpoint(
  db: Db,
  e: {
    id: string;
    url: string;
    description?: string;
    events: EventType[];
    secret: string;
    owner_client_id: string;
    warehouses: string[] | null;
  },
): Promise<WebhookEndpointRow> {
  const [row] = await db<WebhookEndpointRow[]>`
    INSERT INTO webhook_endpoints (id, url, description, events, secret, owner_client_id, warehouses)
    VALUES (${e.id}, ${e.url}, ${e.description ?? null}, ${e.events}, ${e.secret}, ${e.owner_client_id},
            ${e.warehouses}::text[])
    RETURNING ${columns(db)}`;
  return row;
}

/**
 * The endpoint, if `principal` manages it (managedBy); null otherwise, as if it did not exist.
 * `lock: 'share'` only keeps it from being changed, deleted or disabled until the transaction
 * ends: unlike FOR UPDATE it does not hold up the fan-out (which shares every active endpoint).
 */
export async function findEndpoint(
  db: Db,
  id: string,
  principal: Principal,
  { lock = false }: { lock?: boolean | 'share' } = {},
): Promise<WebhookEndpointRow | null> {
  const [row] = await db<WebhookEndpointRow[]>`
    SELECT ${columns(db)} FROM webhook_endpoints WHERE id = ${id} AND ${managedBy(db, principal)}
    ${lock === 'share' ? db`FOR SHARE` : lock ? db`FOR UPDATE` : db``}`;
  return row ?? null;
}

/** The endpoints `principal` manages, in creation order; `after` is the (created_at, id) of the previous page's last row. */
export async function listEndpoints(
  db: Db,
  principal: Principal,
  f: { after?: [string, string]; limit: number },
): Promise<WebhookEndpointRow[]> {
  return db<WebhookEndpointRow[]>`
    SELECT ${columns(db)} FROM webhook_endpoints
    WHERE ${managedBy(db, principal)}
      ${f.after ? db`AND (created_at, id) > (${f.after[0]}::timestamptz, ${f.after[1]})` : db``}
    ORDER BY created_at, id
    LIMIT ${f.limit + 1}`;
}

/** Deletes the endpoint and (cascading) its deliveries. */
export async function deleteEndpoint(db: Db, id: string): Promise<void> {
  await db`DELETE FROM webhook_endpoints WHERE id = ${id}`;
}

/** The new secret signs from now on; the current one keeps signing too for ROTATION_GRACE. */
export async function rotateSecret(
  db: Db,
  id: string,
  secret: string,
): Promise<WebhookEndpointRow> {
  const [row] = await db<WebhookEndpointRow[]>`
    UPDATE webhook_endpoints
    SET previous_secret = secret, previous_secret_expires_at = now() + ${ROTATION_GRACE}::interval, secret = ${secret},
        version = version + 1, updated_at = now()
    WHERE id = ${id}
    RETURNING ${columns(db)}`;
  return row;
}

/** Marks the endpoint inactive (the receiver answered 410 Gone); null if it is already inactive or gone. */
export async function disableEndpoint(
  db: Db,
  id: string,
  reason: string,
): Promise<WebhookEndpointRow | null> {
  const [row] = await db<WebhookEndpointRow[]>`
    UPDATE webhook_endpoints SET active = false, disabled_reason = ${reason}, version = version + 1, updated_at = now()
    WHERE id = ${id} AND active
    RETURNING ${columns(db)}`;
  return row ?? null;
}
