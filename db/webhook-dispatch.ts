// The dispatcher's queries. Every step is one short statement or transaction and no lock is held
// while a receiver is being called, so any number of instances can share the work:
//   fanOut     outbox rows → one delivery per subscribed active endpoint whose claim sees the event,
//              rows marked dispatched and given their position in the feed
//   claimDue   due deliveries → leased to this instance (FOR UPDATE SKIP LOCKED, never double-claimed)
//   record*    the attempt's result, written only by the holder of the lease
import { writeAudit } from './audit.ts';
import { FEED_CHANNEL } from './feed.ts';
import { inTransaction, type Db, type Sql } from './client.ts';
import { auditScopeOf, disableEndpoint, type WebhookEndpointRow } from './webhook-endpoints.ts';
import type { DeliveryStatus } from './webhook-deliveries.ts';
import { newId } from './ids.ts';
import { isFor } from '../domain/webhooks/ownership.ts';

/**
 * Fans out up to `limit` undispatched outbox events, oldest first, in one transaction, and gives
 * them their positions in the feed; returns how many events it took. One fan-out runs at a time
 * across instances: each takes feed_state's row lock first, in a statement of its own, so that
 * the events it then reads include everything the previous fan-out's commit made visible, and
 * its positions (after the previous fan-out's) become visible only as it commits
 * (migration 0012 says why the feed needs this). The unique (endpoint_id, event_id) would absorb
 * a repeated fan-out, should one ever happen.
 */
export async function fanOut(sql: Sql, limit: number): Promise<number> {
  return inTransaction(sql, async (tx) => {
    const [{ last }] = await tx<{ last: string }[]>`
      SELECT last_position::text AS last FROM feed_state FOR UPDATE`;
    // In seq order: events of transactions that wrote the same rows were inserted, as every
    // transaction inserts its events last (db/outbox.ts), in the order those transactions committed.
    const events = await tx<{ id: string; type: string; warehouse_ids: string[] }[]>`
      SELECT id, type, warehouse_ids FROM outbox WHERE dispatched_at IS NULL ORDER BY seq LIMIT ${limit}`;
    if (events.length === 0) return 0;
    // SHARE: an endpoint deleted or disabled meanwhile waits for this transaction, so that its
    // disabling also fails the deliveries inserted here (none is left PENDING for a disabled endpoint).
    const endpoints = await tx<
      { id: string; events: string[]; warehouses: string[] | null }[]
    >`SELECT id, events, warehouses FROM webhook_endpoints WHERE active FOR SHARE`;
    // An endpoint gets only the events its creator's warehouses claim may see (docs/webhooks.md).
    const deliveries = events.flatMap((event) =>
      endpoints
        .filter((endpoint) => isFor(endpoint, event))
        .map((endpoint) => ({
          id: newId('whd'),
          endpoint_id: endpoint.id,
          event_id: event.id,
          event_type: event.type,
        })),
    );
    if (deliveries.length > 0) {
      await tx`INSERT INTO webhook_deliveries ${tx(deliveries)} ON CONFLICT (endpoint_id, event_id) DO NOTHING`;
    }
    await tx`
      WITH numbered AS (
        SELECT id, ${last}::bigint + n AS position
        FROM unnest(${events.map((e) => e.id)}::text[]) WITH ORDINALITY AS t (id, n)
      ), sequenced AS (
        UPDATE outbox o SET dispatched_at = now(), position = numbered.position
        FROM numbered WHERE o.id = numbered.id
      )
      UPDATE feed_state SET last_position = ${last}::bigint + ${events.length}
      RETURNING pg_notify(${FEED_CHANNEL}, last_position::text)`;
    return events.length;
  });
}

export interface Claim {
  id: string;
  endpoint_id: string;
  event_id: string;
  /** This attempt's number, 1-based. */
  attempts: number;
  url: string;
  secret: string;
  /** Still signing during a rotation's grace period, else null. */
  previous_secret: string | null;
  payload: unknown;
  event_created_at: string;
  lease_token: string;
}

export interface ClaimOptions {
  limit: number;
  /** At most this many in flight per endpoint (in this instance), so one slow receiver cannot take every slot. */
  perEndpoint: number;
  /** Endpoint id → attempts this instance already has in flight. */
  busy: ReadonlyMap<string, number>;
  leaseMs: number;
}

/**
 * Leases up to `limit` due deliveries of active endpoints to the caller: their next_attempt_at moves
 * to the end of the lease (so they come due again if this instance dies mid-attempt) and the attempt
 * is counted. Returns what an attempt needs: URL, secrets and the event.
 */
export async function claimDue(sql: Sql, o: ClaimOptions): Promise<Claim[]> {
  const token = newId('lease');
  return sql<Claim[]>`
    WITH due AS (
      SELECT d.id, d.next_attempt_at, e.id AS endpoint_id,
             row_number() OVER (PARTITION BY e.id ORDER BY d.next_attempt_at) AS nth
      FROM webhook_endpoints e
      CROSS JOIN LATERAL (
        SELECT id, next_attempt_at FROM webhook_deliveries
        WHERE endpoint_id = e.id AND status = 'PENDING' AND next_attempt_at <= now()
        ORDER BY next_attempt_at
        LIMIT ${o.perEndpoint}
        FOR UPDATE SKIP LOCKED
      ) d
      WHERE e.active
    ), chosen AS (
      SELECT due.id FROM due
      LEFT JOIN unnest(${[...o.busy.keys()]}::text[], ${[...o.busy.values()]}::int[]) AS busy (endpoint_id, n) USING (endpoint_id)
      WHERE due.nth + coalesce(busy.n, 0) <= ${o.perEndpoint}
      ORDER BY due.next_attempt_at
      LIMIT ${o.limit}
    )
    UPDATE webhook_deliveries w
    SET attempts = w.attempts + 1, next_attempt_at = now() + ${o.leaseMs}::float8 * interval '1 millisecond',
        lease_token = ${token}, updated_at = now()
    FROM chosen, webhook_endpoints e, outbox o
    WHERE w.id = chosen.id AND e.id = w.endpoint_id AND o.id = w.event_id
    RETURNING w.id, w.endpoint_id, w.event_id, w.attempts, e.url, e.secret,
              CASE WHEN e.previous_secret_expires_at > now() THEN e.previous_secret END AS previous_secret,
              o.payload, o.created_at AS event_created_at, w.lease_token`;
}

export interface AttemptRecord {
  status: DeliveryStatus;
  code: number | null;
  error: string | null;
  /** PENDING only: seconds until the next attempt. */
  delayS?: number;
}

const leased = (db: Db, claim: Pick<Claim, 'id' | 'lease_token'>) =>
  db`id = ${claim.id} AND lease_token = ${claim.lease_token}`;

/** Records an attempt's result; false when the lease was lost meanwhile (the result is then moot). */
export async function recordAttempt(
  db: Db,
  claim: Pick<Claim, 'id' | 'lease_token'>,
  r: AttemptRecord,
): Promise<boolean> {
  const rows = await db`
    UPDATE webhook_deliveries
    SET status = ${r.status}, last_status_code = ${r.code}, last_error = ${r.error}, lease_token = NULL, updated_at = now(),
        next_attempt_at = ${r.status === 'PENDING' ? db`now() + ${r.delayS ?? 0}::float8 * interval '1 second'` : db`NULL`}
    WHERE ${leased(db, claim)}
    RETURNING id`;
  return rows.length > 0;
}

/**
 * The receiver answered 410 Gone: this delivery fails, the endpoint is disabled (with an audit
 * entry, as any change to it), and its other pending deliveries fail with it. `disabled` is false
 * when a concurrent attempt's 410 got there first.
 */
export async function recordGone(
  sql: Sql,
  claim: Claim,
  r: AttemptRecord,
  reason: string,
  /** The endpoint as the API shows it (never its secrets), as the handlers' entries show it. */
  view: (endpoint: WebhookEndpointRow) => unknown,
): Promise<{ recorded: boolean; disabled: boolean }> {
  return inTransaction(sql, async (tx) => {
    if (!(await recordAttempt(tx, claim, r))) return { recorded: false, disabled: false };
    const endpoint = await disableEndpoint(tx, claim.endpoint_id, reason);
    if (!endpoint) return { recorded: true, disabled: false };
    await tx`
      UPDATE webhook_deliveries SET status = 'FAILED', next_attempt_at = NULL, lease_token = NULL,
             last_error = ${`not attempted: ${reason}`}, updated_at = now()
      WHERE endpoint_id = ${claim.endpoint_id} AND status = 'PENDING'`;
    const actor = { sub: 'webhook-dispatcher', clientId: 'system', requestId: claim.id };
    await writeAudit(tx, actor, {
      action: 'webhook_endpoint.disabled',
      entity: 'webhook_endpoint',
      entityId: endpoint.id,
      // Its owner's, though the dispatcher acted (docs/webhooks.md).
      ...auditScopeOf(endpoint),
      after: view(endpoint),
    });
    return { recorded: true, disabled: true };
  });
}

/**
 * Gives a claim back without counting the attempt (this instance is shutting down before it could
 * finish): due at once, for whichever instance is still running.
 */
export async function releaseClaim(
  db: Db,
  claim: Pick<Claim, 'id' | 'lease_token'>,
): Promise<void> {
  await db`
    UPDATE webhook_deliveries SET attempts = attempts - 1, next_attempt_at = now(), lease_token = NULL, updated_at = now()
    WHERE ${leased(db, claim)}`;
}

/**
 * The pending deliveries claimDue can take: those of active endpoints. Only they may wake the
 * dispatcher; a PENDING row of a disabled endpoint would otherwise read as "due now" forever.
 */
const claimable = (db: Db) =>
  db`webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.active WHERE d.status = 'PENDING'`;

/**
 * Milliseconds until the earliest pending delivery comes due (in-flight leases included; 0 if
 * overdue), or null. Measured by the database clock, the one next_attempt_at is compared with.
 */
export async function msUntilNextDue(db: Db): Promise<number | null> {
  // Not greatest(0, …) in SQL: GREATEST ignores NULLs, so "nothing pending" would come back as
  // "due now" and the dispatcher would spin.
  const [row] = await db<{ ms: number | null }[]>`
    SELECT (extract(epoch FROM min(d.next_attempt_at) - now()) * 1000)::float8 AS ms
    FROM ${claimable(db)}`;
  return row.ms === null ? null : Math.max(0, row.ms);
}

export interface Backlog {
  /** Age of the oldest event not fanned out yet (0 when none). */
  outboxLagS: number;
  /** How overdue the most overdue pending delivery is (0 when none). */
  deliveryLagS: number;
  pending: number;
}

export async function backlog(db: Db): Promise<Backlog> {
  const [row] = await db<Backlog[]>`
    SELECT coalesce((SELECT extract(epoch FROM now() - created_at)::float8 FROM outbox WHERE dispatched_at IS NULL ORDER BY seq LIMIT 1), 0) AS "outboxLagS",
           coalesce((SELECT extract(epoch FROM now() - min(d.next_attempt_at))::float8 FROM ${claimable(db)}
                     AND d.next_attempt_at <= now()), 0) AS "deliveryLagS",
           (SELECT count(*) FROM ${claimable(db)})::int AS pending`;
  return row;
}
