// Environment parsed once, typed. Everything the server reads from the environment is here.
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { GroupCommitOptions } from './writes/group-commit.ts';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

export interface AuthConfig {
  issuer: string;
  audience: string;
  jwksUrl?: string;
  publicKeyPem?: string;
  /** True when no AUTH_* variable is set: a dev key in dataDir signs and verifies tokens. */
  dev: boolean;
}

export interface WebhookConfig {
  /** WEBHOOK_ALLOW_PRIVATE=1: endpoints may target loopback/private/link-local addresses (tests, local). */
  allowPrivate: boolean;
  /** Seconds to wait before attempt 2, 3, ...; its length + 1 is the number of attempts. */
  retrySchedule: number[];
  /** WEBHOOK_TIMEOUT_S: how long a receiver has to answer one attempt. */
  timeoutMs: number;
  /** WEBHOOK_POLL_S: how often the dispatcher looks for work it was not notified of. */
  pollMs: number;
  /**
   * EVENT_RETENTION_DAYS: how long events are kept in the feed (and with them their deliveries);
   * longer than the retry schedule, so that no delivery still pending loses its event.
   */
  eventRetentionDays: number;
}

export interface Config {
  port: number;
  host: string;
  /** Processes serving the port (node:cluster). */
  workers: number;
  production: boolean;
  databaseUrl?: string;
  /** DATABASE_DIRECT_URL: a connection that bypasses a transaction-pooling PgBouncer (migrations, LISTEN). */
  databaseDirectUrl?: string;
  /**
   * DATABASE_REPLICA_URL: streaming replicas lists may be read from, one URL per host (the variable
   * may name several hosts, as `postgres://user:pass@h1:5432,h2:5432/db`); empty: none.
   */
  databaseReplicaUrls: string[];
  /** DATABASE_REPLICA_MAX_LAG_MS: a replica whose replay lags more serves no lists until it catches up. */
  databaseReplicaMaxLagMs?: number;
  /** TRUST_PROXY: whose X-Forwarded-For to believe for the client address (Fastify's trustProxy). */
  trustProxy: boolean | string;
  dataDir: string;
  auth: AuthConfig;
  rateLimit: { max: number; windowS: number; redisUrl?: string };
  webhooks: WebhookConfig;
  invoicePriceTolerance: number;
  /** PO_APPROVAL_THRESHOLDS: per currency, the order total above which sending needs an approval. */
  poApprovalThresholds: Record<string, string>;
  /** RESERVATION_SWEEP_S: how often each instance expires due reservations (0: never; writers still do). */
  reservationSweepMs: number;
  /**
   * Group commit of postings: at most `maxBatch` per transaction, `maxInFlight` transactions at
   * once, `maxQueued` waiting (more are refused with 503 overloaded); Idempotency-Keys of every
   * write kept `idempotencyTtlH` hours.
   */
  postings: GroupCommitOptions;
  bodyLimit: number;
  logLevel: string;
  /** PUBLIC_URL: the address clients reach the API at, named as the server of /openapi.json. */
  publicUrl?: string;
  /** METRICS_TOKEN: when set, GET /metrics needs `Authorization: Bearer <it>`. */
  metricsToken?: string;
  /** Validate every response against the spec (tests turn this on; it costs time per response). */
  responseValidation: boolean;
}

export const DEV_ISSUER = 'inventory-api-dev';
export const DEV_AUDIENCE = 'inventory-api';

function int(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0)
    throw new Error(`${name} must be a non-negative number, got ${JSON.stringify(raw)}`);
  return n;
}

/**
 * TRUST_PROXY: unset, no proxy is trusted (the client address is the TCP peer); a comma-separated
 * list of the proxies' addresses or CIDR ranges; or `true`, any (only when nothing can reach the
 * server except through the proxy, or clients could pick their own address).
 */
function trustProxy(raw: string | undefined): boolean | string {
  if (!raw) return false;
  return raw === 'true' ? true : raw;
}

export type DatabaseSettings = Pick<Config, 'databaseUrl' | 'databaseDirectUrl' | 'dataDir'>;

/** Where the database is: all `npm run migrate` needs (it must not require auth settings). */
export function loadDatabaseSettings(env: NodeJS.ProcessEnv = process.env): DatabaseSettings {
  return {
    databaseUrl: env.DATABASE_URL || undefined,
    databaseDirectUrl: env.DATABASE_DIRECT_URL || undefined,
    dataDir: env.DATA_DIR || join(repoRoot, '.data'),
  };
}

/**
 * One URL per host of a postgres.js-style URL with several hosts (`postgres://u:p@h1:5432,h2/db?x`),
 * each keeping the credentials, database and parameters: lists spread over the replicas, whereas
 * postgres.js given several hosts connects to the first that answers.
 */
export function replicaUrls(raw: string | undefined): string[] {
  if (!raw) return [];
  const m = /^(postgres(?:ql)?:\/\/)(?:([^@/?#]*)@)?([^/?#]*)(.*)$/.exec(raw.trim());
  const hosts = m?.[3].split(',').filter(Boolean) ?? [];
  if (!m || hosts.length === 0)
    throw new Error(
      'DATABASE_REPLICA_URL must be a postgres:// URL, with one host or several (postgres://user:pass@host1:5432,host2:5432/db)',
    );
  const [, scheme, auth, , rest] = m;
  return hosts.map((host) => `${scheme}${auth === undefined ? '' : `${auth}@`}${host}${rest}`);
}

/** AUTH_*: the issuer, the audience and a key (JWKS URL or PEM), or none of them (dev). */
function authConfig(env: NodeJS.ProcessEnv, production: boolean): AuthConfig {
  const { AUTH_ISSUER: issuer, AUTH_AUDIENCE: audience } = env;
  const dev = !issuer && !audience && !env.AUTH_JWKS_URL && !env.AUTH_PUBLIC_KEY;
  if (dev) {
    if (production)
      throw new Error(
        'NODE_ENV=production needs AUTH_ISSUER, AUTH_AUDIENCE and AUTH_JWKS_URL or AUTH_PUBLIC_KEY.',
      );
    return { issuer: DEV_ISSUER, audience: DEV_AUDIENCE, dev: true };
  }
  if (!issuer || !audience || !(env.AUTH_JWKS_URL || env.AUTH_PUBLIC_KEY)) {
    throw new Error(
      'Set AUTH_ISSUER, AUTH_AUDIENCE and one of AUTH_JWKS_URL or AUTH_PUBLIC_KEY (or none of them for local development).',
    );
  }
  return {
    issuer,
    audience,
    jwksUrl: env.AUTH_JWKS_URL || undefined,
    publicKeyPem: env.AUTH_PUBLIC_KEY || undefined,
    dev: false,
  };
}

function eventRetentionDays(env: NodeJS.ProcessEnv, retrySchedule: number[]): number {
  const days = Number(env.EVENT_RETENTION_DAYS ?? '30');
  const retryDays = retrySchedule.reduce((a, b) => a + b, 0) / 86_400;
  // Retention deletes an event's deliveries with it: one still being retried would vanish.
  if (!Number.isFinite(days) || days <= retryDays * 1.2) {
    throw new Error(
      `EVENT_RETENTION_DAYS must be a number of days longer than the webhook retry schedule (${(retryDays * 1.2).toFixed(1)} days with its jitter)`,
    );
  }
  return days;
}

/**
 * `EUR:1000,USD:1000`: decimal strings, compared in PostgreSQL, so that a total never meets a
 * float. A currency not listed needs no approval.
 */
function poApprovalThresholds(value: string | undefined): Record<string, string> {
  const thresholds: Record<string, string> = {};
  for (const entry of (value ?? '').split(',').map((s) => s.trim())) {
    if (entry === '') continue;
    const m = /^([A-Z]{3}):(\d{1,15}(?:\.\d{1,6})?)$/.exec(entry);
    if (!m || m[1] in thresholds)
      throw new Error(
        `PO_APPROVAL_THRESHOLDS must be comma-separated CURRENCY:amount pairs, each currency once (e.g. EUR:1000,USD:1000); got "${entry}"`,
      );
    thresholds[m[1]] = m[2];
  }
  return thresholds;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const production = env.NODE_ENV === 'production';
  const auth = authConfig(env, production);
  const schedule = (env.WEBHOOK_RETRY_SCHEDULE ?? '5,300,1800,7200,18000,36000,50400,72000,86400')
    .split(',')
    .map((s) => Number(s.trim()));
  if (schedule.some((n) => !Number.isFinite(n) || n < 0))
    throw new Error('WEBHOOK_RETRY_SCHEDULE must be comma-separated seconds');
  const tolerance = Number(env.INVOICE_PRICE_TOLERANCE ?? '0');
  if (!Number.isFinite(tolerance) || tolerance < 0)
    throw new Error('INVOICE_PRICE_TOLERANCE must be a non-negative fraction');
  return {
    port: int(env, 'PORT', 3000),
    workers: Math.max(1, int(env, 'WORKERS', 1)),
    host: env.HOST || '127.0.0.1',
    production,
    ...loadDatabaseSettings(env),
    databaseReplicaUrls: replicaUrls(env.DATABASE_REPLICA_URL),
    databaseReplicaMaxLagMs:
      env.DATABASE_REPLICA_MAX_LAG_MS === undefined || env.DATABASE_REPLICA_MAX_LAG_MS === ''
        ? undefined
        : int(env, 'DATABASE_REPLICA_MAX_LAG_MS', 0),
    trustProxy: trustProxy(env.TRUST_PROXY),
    auth,
    rateLimit: {
      max: int(env, 'RATE_LIMIT_MAX', 600),
      windowS: int(env, 'RATE_LIMIT_WINDOW_S', 60),
      redisUrl: env.REDIS_URL || undefined,
    },
    webhooks: {
      allowPrivate: env.WEBHOOK_ALLOW_PRIVATE === '1',
      retrySchedule: schedule,
      timeoutMs: int(env, 'WEBHOOK_TIMEOUT_S', 10) * 1000,
      pollMs: int(env, 'WEBHOOK_POLL_S', 5) * 1000,
      eventRetentionDays: eventRetentionDays(env, schedule),
    },
    invoicePriceTolerance: tolerance,
    poApprovalThresholds: poApprovalThresholds(env.PO_APPROVAL_THRESHOLDS),
    reservationSweepMs: int(env, 'RESERVATION_SWEEP_S', 5) * 1000,
    postings: {
      maxBatch: int(env, 'POSTING_BATCH_MAX', 32) || 1,
      maxInFlight: int(env, 'POSTING_BATCHES_IN_FLIGHT', 2) || 1,
      maxQueued: int(env, 'POSTING_QUEUE_MAX', 1024),
      // Longer than the webhook retry horizon (three days and its jitter), so that a client
      // retrying what a webhook told it about still finds its key.
      idempotencyTtlH: int(env, 'IDEMPOTENCY_TTL_H', 96) || 96,
    },
    bodyLimit: 1024 * 1024,
    logLevel: env.LOG_LEVEL || 'info',
    metricsToken: env.METRICS_TOKEN || undefined,
    publicUrl: env.PUBLIC_URL?.replace(/\/+$/, '') || undefined,
    responseValidation: env.RESPONSE_VALIDATION === '1',
  };
}
