// STANDARDS §4 (draft-ietf-httpapi-idempotency-key-header, Stripe semantics). The key row is
// inserted first inside the request's own transaction, so:
// - the stored response commits atomically with the effect (or neither does);
// - a concurrent duplicate blocks on the primary key until the first transaction ends, then
//   replays its response (exactly one execution, no polling);
// - a rolled-back first attempt (5xx, 401/403) leaves no row, so the retry runs again.
// Expired keys (24 h) are reclaimed on reuse and purged by a timer.
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Sql, Tx } from '../../db/client.ts';
import { ProblemError } from '../problem.ts';

export interface StoredResponse {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

export interface IdempotencyScope {
  clientId: string;
  operationId: string;
  key: string;
  fingerprint: string;
}

/** Unquotes a structured-field string ("abc" → abc); the spec's schema already limited the characters. */
export function parseIdempotencyKey(raw: string): string {
  const key = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
  if (key.length < 1 || key.length > 255) {
    throw new ProblemError('validation-error', 'Idempotency-Key must be 1-255 visible ASCII characters.', {
      errors: [{ pointer: '#/headers/idempotency-key', detail: 'must be 1-255 visible ASCII characters', code: 'maxLength' }],
    });
  }
  return key;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Same method, same path (ids included) and same JSON body, key order aside. */
export function fingerprint(method: string, path: string, body: unknown): string {
  return createHash('sha256').update(`${method} ${path}\n${canonicalJson(body ?? null)}`).digest('base64url');
}

/**
 * Claims the key in `tx`. Returns a stored response to replay, or null when this request owns the
 * key and must execute (then call storeResponse in the same transaction).
 */
export async function claimKey(tx: Tx, scope: IdempotencyScope): Promise<StoredResponse | null> {
  const claimed = await tx`
    INSERT INTO idempotency_keys (client_id, operation, key, fingerprint)
    VALUES (${scope.clientId}, ${scope.operationId}, ${scope.key}, ${scope.fingerprint})
    ON CONFLICT (client_id, operation, key) DO UPDATE
      SET fingerprint = excluded.fingerprint, status = NULL, headers = NULL, body = NULL,
          created_at = now(), expires_at = now() + interval '24 hours'
      WHERE idempotency_keys.expires_at < now()
    RETURNING 1`;
  if (claimed.length) return null;
  const [row] = await tx`
    SELECT fingerprint, status, headers, body FROM idempotency_keys
    WHERE client_id = ${scope.clientId} AND operation = ${scope.operationId} AND key = ${scope.key}`;
  if (row.fingerprint !== scope.fingerprint) {
    throw new ProblemError('idempotency-key-reused', 'This Idempotency-Key was already used with a different request. Use a new key for a new request.');
  }
  if (row.status === null) {
    // Not reachable while rows are only committed with a response; kept so a future change cannot replay nothing.
    throw new ProblemError('idempotency-in-progress', 'A request with this Idempotency-Key is still in progress.', {}, { 'Retry-After': '1' });
  }
  return { status: row.status, body: row.body, headers: row.headers ?? {} };
}

export async function storeResponse(tx: Tx, scope: IdempotencyScope, response: StoredResponse): Promise<void> {
  await tx`
    UPDATE idempotency_keys SET status = ${response.status}, headers = ${tx.json(response.headers as any)}, body = ${tx.json(response.body as any)}
    WHERE client_id = ${scope.clientId} AND operation = ${scope.operationId} AND key = ${scope.key}`;
}

/** Domain outcomes a retry must see again; auth failures, precondition failures and 5xx are not stored. */
export function isStoredOutcome(status: number): boolean {
  return status < 400 || status === 409 || status === 422;
}

const PURGE_EVERY_MS = 10 * 60_000;

export default fp(async function idempotency(app: FastifyInstance, { sql }: { sql: Sql }) {
  const purge = async () => {
    try {
      await sql`DELETE FROM idempotency_keys WHERE expires_at < now()`;
    } catch (err) {
      app.log.warn({ err }, 'purging expired idempotency keys failed; will retry');
    }
  };
  const timer = setInterval(purge, PURGE_EVERY_MS).unref();
  app.addHook('onClose', async () => clearInterval(timer));
}, { name: 'idempotency' });
