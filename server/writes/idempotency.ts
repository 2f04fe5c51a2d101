// docs/standards.md §4 (draft-ietf-httpapi-idempotency-key-header, Stripe semantics). The key row is
// inserted first inside the request's own transaction, so:
// - the stored response commits atomically with the effect (or neither does);
// - a concurrent duplicate blocks on the primary key until the first transaction ends, then
//   replays its response (exactly one execution, no polling);
// - a rolled-back first attempt (5xx, 401/403) leaves no row, so the retry runs again.
// A key belongs to (client_id, sub, operation): one user's key is never another's, and a stored
// answer is replayed only to a caller whose warehouses claim covers the one it was made with.
// Expired keys (24 h) are reclaimed on reuse and purged by a timer.
import { hash } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { PendingQuery } from 'postgres';
import type { Db, Sql } from '../../db/client.ts';
import { ProblemError } from '../../domain/problems.ts';
import type { Principal } from '../../domain/access.ts';

export interface StoredResponse {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

export interface IdempotencyScope {
  clientId: string;
  /** The token's subject: keys of two users of one client never meet. */
  sub: string;
  operationId: string;
  key: string;
  fingerprint: string;
  /** The caller's warehouses claim, sorted; null when unrestricted. */
  warehouses: string[] | null;
}

/** The scope of a key sent by `principal` to `operationId`. */
export function scopeOf(
  principal: Principal,
  operationId: string,
  key: string,
  fingerprint: string,
): IdempotencyScope {
  return {
    clientId: principal.clientId,
    sub: principal.sub,
    operationId,
    key,
    fingerprint,
    warehouses: principal.warehouses && [...principal.warehouses].sort(),
  };
}

/** Unquotes a structured-field string ("abc" → abc); the spec's schema already limited the characters. */
export function parseIdempotencyKey(raw: string): string {
  const key = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
  if (key.length < 1 || key.length > 255) {
    throw new ProblemError(
      'validation-error',
      'Idempotency-Key must be 1-255 visible ASCII characters.',
      {
        errors: [
          {
            pointer: '#/headers/idempotency-key',
            detail: 'must be 1-255 visible ASCII characters',
            code: 'maxLength',
          },
        ],
      },
    );
  }
  return key;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Same method, same path (ids included) and same JSON body, key order aside. */
export function fingerprint(method: string, path: string, body: unknown): string {
  return hash('sha256', `${method} ${path}\n${canonicalJson(body ?? null)}`, 'base64url');
}

export function reusedKeyProblem(): ProblemError {
  return new ProblemError(
    'idempotency-key-reused',
    'This Idempotency-Key was already used with a different request. Use a new key for a new request.',
  );
}

/** Identifies a key within its scope (client, subject, operation). */
export const scopeId = (s: { clientId: string; sub: string; operationId: string; key: string }) =>
  JSON.stringify([s.clientId, s.sub, s.operationId, s.key]);

/**
 * What an earlier request left under a key: the fingerprint of its request, the warehouses claim
 * it was made with, and its response (null while it runs).
 */
export interface EarlierUse {
  fingerprint: string;
  warehouses: string[] | null;
  response: StoredResponse | null;
}

/**
 * Rows stored before keys were scoped by subject have the subject '' (no token has an empty
 * `sub`); they are still honoured, for the client that made them, until they expire.
 */
const LEGACY_SUB = '';

const keyRow = (s: IdempotencyScope) => ({
  client_id: s.clientId,
  sub: s.sub,
  operation: s.operationId,
  key: s.key,
  fingerprint: s.fingerprint,
  warehouses: s.warehouses,
});

/**
 * A batch's rows as a relation PostgreSQL knows the size of. It takes a `jsonb_to_recordset` for
 * 100 rows, and against a table of a few thousand (a new deployment, the bench, the first hours of
 * a day's keys) it then plans a scan of the whole table instead of a lookup per row: every batch
 * read all of `idempotency_keys` to store ~20 answers (docs/decisions/0013). The LIMIT, the
 * batch's own size, is the estimate it plans with.
 */
function counted(tx: Db, rows: object[], columns: string) {
  return tx`(SELECT * FROM jsonb_to_recordset(${tx.json(rows as never)}) AS r(${tx.unsafe(columns)}) LIMIT ${rows.length})`;
}

/**
 * Claims the keys in `tx`, in one statement (sorted, so that batches claiming overlapping keys
 * wait for each other instead of deadlocking). Returns, by scopeId, what an earlier request left
 * (see replayFor). Keys absent from the result are now owned by this transaction: execute, then
 * storeResponses. The scopes must be distinct.
 */
export async function claimKeys(
  tx: Db,
  scopes: IdempotencyScope[],
  ttlH: number,
): Promise<Map<string, EarlierUse>> {
  const earlier = new Map<string, EarlierUse>();
  if (!scopes.length) return earlier;
  const sorted = [...scopes].sort((a, b) => (scopeId(a) < scopeId(b) ? -1 : 1));
  const claimed = await tx<{ client_id: string; sub: string; operation: string; key: string }[]>`
    INSERT INTO idempotency_keys (client_id, sub, operation, key, fingerprint, warehouses, expires_at)
    SELECT t.client_id, t.sub, t.operation, t.key, t.fingerprint, t.warehouses, now() + ${ttlH}::float8 * interval '1 hour'
    FROM ${counted(tx, sorted.map(keyRow), 'client_id text, sub text, operation text, key text, fingerprint text, warehouses text[]')} t
    WHERE NOT EXISTS (
      SELECT 1 FROM idempotency_keys l
      WHERE l.client_id = t.client_id AND l.sub = ${LEGACY_SUB} AND l.operation = t.operation
        AND l.key = t.key AND l.expires_at >= now())
    ON CONFLICT (client_id, sub, operation, key) DO UPDATE
      SET fingerprint = excluded.fingerprint, warehouses = excluded.warehouses, status = NULL,
          headers = NULL, body = NULL, created_at = now(), expires_at = excluded.expires_at
      WHERE idempotency_keys.expires_at < now()
    RETURNING client_id, sub, operation, key`;
  const owned = new Set(
    claimed.map((r) =>
      scopeId({ clientId: r.client_id, sub: r.sub, operationId: r.operation, key: r.key }),
    ),
  );
  const taken = sorted.filter((s) => !owned.has(scopeId(s)));
  if (!taken.length) return earlier;
  const rows = await tx<
    {
      client_id: string;
      sub: string;
      operation: string;
      key: string;
      fingerprint: string;
      warehouses: string[] | null;
      status: number | null;
      headers: Record<string, string> | null;
      body: unknown;
    }[]
  >`
    SELECT t.client_id, t.sub, t.operation, t.key, k.fingerprint, k.warehouses, k.status, k.headers, k.body
    FROM idempotency_keys k
    JOIN unnest(${taken.map((s) => s.clientId)}::text[], ${taken.map((s) => s.sub)}::text[],
                ${taken.map((s) => s.operationId)}::text[], ${taken.map((s) => s.key)}::text[])
         AS t(client_id, sub, operation, key)
      ON k.client_id = t.client_id AND k.operation = t.operation AND k.key = t.key
        AND (k.sub = t.sub OR (k.sub = ${LEGACY_SUB} AND k.expires_at >= now()))
    -- Should both be there (a legacy row claimed before this request's own), its own is last, so
    -- it is the one kept.
    ORDER BY k.sub = t.sub`;
  for (const row of rows) {
    const id = scopeId({
      clientId: row.client_id,
      sub: row.sub,
      operationId: row.operation,
      key: row.key,
    });
    earlier.set(id, {
      fingerprint: row.fingerprint,
      warehouses: row.warehouses,
      response:
        row.status === null
          ? null
          : { status: row.status, body: row.body, headers: row.headers ?? {} },
    });
  }
  return earlier;
}

/**
 * The answer to a request under a key an earlier request used: its response to replay, or a
 * ProblemError. Replaying shows what the first request's checks allowed, so the caller's
 * warehouses claim must cover the claim that request was made with (else 403, as the request
 * itself might have been).
 */
export function replayFor(
  earlier: EarlierUse,
  scope: IdempotencyScope,
): StoredResponse | ProblemError {
  if (earlier.fingerprint !== scope.fingerprint) return reusedKeyProblem();
  const missing = claimGap(scope.warehouses, earlier.warehouses);
  if (missing !== null)
    return new ProblemError(
      'warehouse-forbidden',
      missing === undefined
        ? 'This Idempotency-Key was first used by a token without a warehouses claim; only such a token may get its answer. The request it answered may have been applied: check before sending it again under a new key.'
        : `This Idempotency-Key was first used by a token that may touch warehouse ${missing}; this one may not. The request it answered may have been applied: check before sending it again under a new key.`,
      missing === undefined ? {} : { warehouse_id: missing },
    );
  // Not reachable while rows are only committed with a response; kept so a future change cannot replay nothing.
  if (earlier.response === null)
    return new ProblemError(
      'idempotency-in-progress',
      'A request with this Idempotency-Key is still in progress.',
      {},
      { 'Retry-After': '1' },
    );
  return earlier.response;
}

/**
 * A warehouse the first claim allowed and `caller` does not (undefined when the first was
 * unrestricted and the caller is not); null when the caller's claim covers the first.
 */
function claimGap(caller: string[] | null, first: string[] | null): string | undefined | null {
  if (caller === null) return null;
  if (first === null) return undefined;
  return first.find((w) => !caller.includes(w)) ?? null;
}

/** Claims one key: null when this request owns it, else the stored response to replay (throws the ProblemErrors replayFor gives). */
export async function claimKey(
  tx: Db,
  scope: IdempotencyScope,
  ttlH: number,
): Promise<StoredResponse | null> {
  const earlier = (await claimKeys(tx, [scope], ttlH)).get(scopeId(scope));
  if (!earlier) return null;
  const replay = replayFor(earlier, scope);
  if (replay instanceof ProblemError) throw replay;
  return replay;
}

/**
 * The statement storing the response of a key this transaction claimed, by its primary key. Await
 * it, or execute() it to pipeline it.
 */
export function storeResponse(
  tx: Db,
  scope: IdempotencyScope,
  response: StoredResponse,
): PendingQuery<any> {
  const body =
    response.body === undefined || response.body === null ? null : tx.json(response.body as any);
  return tx`
    UPDATE idempotency_keys SET status = ${response.status}, headers = ${tx.json(response.headers)}, body = ${body}
    WHERE client_id = ${scope.clientId} AND sub = ${scope.sub} AND operation = ${scope.operationId}
      AND key = ${scope.key}`;
}

/**
 * The statement storing the responses of keys this transaction claimed (one for all of them), or
 * undefined when there is nothing to store. Await it, or execute() it to pipeline it.
 */
export function storeResponses(
  tx: Db,
  responses: { scope: IdempotencyScope; response: StoredResponse }[],
): PendingQuery<any> | undefined {
  if (!responses.length) return undefined;
  // One row is stored by its primary key, without a recordset to plan.
  if (responses.length === 1) return storeResponse(tx, responses[0].scope, responses[0].response);
  const rows = responses.map(({ scope, response }) => ({
    client_id: scope.clientId,
    sub: scope.sub,
    operation: scope.operationId,
    key: scope.key,
    status: response.status,
    headers: response.headers,
    body: response.body ?? null,
  }));
  return tx`
    UPDATE idempotency_keys k SET status = r.status, headers = r.headers, body = r.body
    FROM ${counted(tx, rows, 'client_id text, sub text, operation text, key text, status int, headers jsonb, body jsonb')} r
    WHERE k.client_id = r.client_id AND k.sub = r.sub AND k.operation = r.operation AND k.key = r.key`;
}

/** The statement giving up claimed keys whose requests failed in a way a retry must not see (401/403/404/412, 5xx). */
export function releaseKeys(tx: Db, scopes: IdempotencyScope[]): PendingQuery<any> | undefined {
  if (!scopes.length) return undefined;
  return tx`
    DELETE FROM idempotency_keys k
    USING unnest(${scopes.map((s) => s.clientId)}::text[], ${scopes.map((s) => s.sub)}::text[],
                 ${scopes.map((s) => s.operationId)}::text[], ${scopes.map((s) => s.key)}::text[])
          AS t(client_id, sub, operation, key)
    WHERE k.client_id = t.client_id AND k.sub = t.sub AND k.operation = t.operation AND k.key = t.key`;
}

/** Domain outcomes a retry must see again; auth failures, precondition failures and 5xx are not stored. */
export function isStoredOutcome(status: number): boolean {
  return status < 400 || status === 409 || status === 422;
}

const PURGE_EVERY_MS = 10 * 60_000;

/** Deletes expired keys every ten minutes until the returned function is called. */
export function purgeExpiredKeys(sql: Sql, log: FastifyBaseLogger): () => void {
  const purge = async () => {
    try {
      await sql`DELETE FROM idempotency_keys WHERE expires_at < now()`;
    } catch (err) {
      log.warn({ err }, 'purging expired idempotency keys failed; will retry');
    }
  };
  const timer = setInterval(purge, PURGE_EVERY_MS).unref();
  return () => clearInterval(timer);
}
