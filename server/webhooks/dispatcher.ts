// The webhook dispatcher, one per server instance. It wakes when a posting commits (LISTEN outbox),
// when a delivery is retried by hand, when the earliest pending delivery comes due, and every poll
// interval (in case a notification was missed), then:
//   1. fans out new outbox events into deliveries (db fanOut),
//   2. claims due deliveries up to its free slots (db claimDue) and attempts each in the background.
// Nothing here runs inside a request: a posting only inserts its outbox row, so a slow or hanging
// receiver can never slow the API down. Database locks are held only for single short statements.
import type { FastifyBaseLogger } from 'fastify';
import type { Sql } from '../../db/client.ts';
import { pruneFeed } from '../../db/feed.ts';
import { OUTBOX_CHANNEL } from '../../db/outbox.ts';
import { DELIVERIES_CHANNEL } from '../../db/webhook-deliveries.ts';
import {
  claimDue,
  fanOut,
  msUntilNextDue,
  recordAttempt,
  recordGone,
  releaseClaim,
  type Claim,
} from '../../db/webhook-dispatch.ts';
import { toEndpoint } from '../../handlers/webhook-endpoints.ts';
import type { WebhookConfig } from '../config.ts';
import { retryDelay } from './backoff.ts';
import type { WebhookMetrics } from './metrics.ts';
import { sendAttempt, type AttemptResult } from './send.ts';
import { signatureHeader } from '../../domain/webhooks/signature.ts';

export interface DispatcherOptions {
  sql: Sql;
  log: FastifyBaseLogger;
  metrics: WebhookMetrics;
  config: WebhookConfig;
  /** Attempts in flight at once in this instance. */
  concurrency?: number;
  /** Attempts in flight at once per endpoint in this instance. */
  perEndpoint?: number;
}

const FAN_OUT_BATCH = 200;
// Under posting load every commit NOTIFYs; fanning out at most this often lets one pass (a few
// round trips) take the events of many commits instead of running a pass per commit.
const FAN_OUT_INTERVAL_MS = 50;
// A lease outlives the attempt's deadline by this much (claim → request start, result → database).
const LEASE_MARGIN_MS = 5_000;
// On shutdown, attempts in flight get this long to finish before they are abandoned and given back.
const SHUTDOWN_GRACE_MS = 1_000;
const USER_AGENT = 'inventory-api-webhooks/1.0';
// How often events past their retention are deleted from the feed (and at start).
const PRUNE_EVERY_MS = 10 * 60_000;

export class Dispatcher {
  private readonly sql: Sql;
  private readonly log: FastifyBaseLogger;
  private readonly metrics: WebhookMetrics;
  private readonly config: WebhookConfig;
  private readonly concurrency: number;
  private readonly perEndpoint: number;
  private readonly shutdown = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  /** Endpoint id → attempts in flight. */
  private readonly busy = new Map<string, number>();
  private listeners: { unlisten(): Promise<void> }[] = [];
  private pass: Promise<void> | null = null;
  private again = false;
  /** Outbox events may be waiting to be fanned out. */
  private fanOutPending = false;
  private lastFanOutAt = 0;
  /** The last claim may have left due work behind (slots or per-endpoint limits ran out). */
  private backlog = false;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private pruneTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(o: DispatcherOptions) {
    this.sql = o.sql;
    this.log = o.log;
    this.metrics = o.metrics;
    this.config = o.config;
    this.concurrency = o.concurrency ?? 16;
    this.perEndpoint = o.perEndpoint ?? 4;
  }

  async start(): Promise<void> {
    const newEvents = () => this.wake({ fanOut: true });
    // The third argument runs once listening, and on every reconnection of the LISTEN connection:
    // catch up on what was committed before, or while it was down.
    this.listeners.push(await this.sql.listen(OUTBOX_CHANNEL, newEvents, newEvents));
    this.listeners.push(await this.sql.listen(DELIVERIES_CHANNEL, () => this.wake(), newEvents));
    const prune = () => void this.prune();
    prune();
    this.pruneTimer = setInterval(prune, PRUNE_EVERY_MS).unref();
  }

  /** Deletes the events past retention, a batch at a time (every instance may; each batch is one statement). */
  private async prune(): Promise<void> {
    try {
      while (!this.stopped && (await pruneFeed(this.sql, this.config.eventRetentionDays)) > 0);
    } catch (err) {
      this.log.warn({ err }, 'deleting events past their retention failed; will retry');
    }
  }

  /** Stops claiming; attempts in flight get a short grace, then are abandoned and given back. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.pruneTimer);
    await Promise.allSettled(this.listeners.map((l) => l.unlisten()));
    await this.pass;
    const attempts = Promise.allSettled([...this.inFlight]);
    const grace = new Promise<void>((resolve) => setTimeout(resolve, SHUTDOWN_GRACE_MS).unref());
    await Promise.race([attempts, grace]);
    this.shutdown.abort();
    await attempts;
  }

  /**
   * Runs a pass now, or right after the one running (passes never overlap). `fanOut` when there
   * may be new outbox events; other wake-ups (a slot freed, a retry due) only need to claim.
   */
  wake({ fanOut = false } = {}): void {
    if (this.stopped) return;
    this.fanOutPending ||= fanOut;
    if (this.pass) {
      this.again = true;
      return;
    }
    this.again = false;
    this.pass = this.runPass().finally(() => {
      this.pass = null;
      if (this.again) this.wake();
    });
  }

  private async runPass(): Promise<void> {
    let dueInMs: number | null = null;
    try {
      // At most one fan-out per interval, whatever woke the pass: under load one takes many commits' events.
      const fanOutAt = this.lastFanOutAt + FAN_OUT_INTERVAL_MS;
      if (this.fanOutPending && Date.now() < fanOutAt) this.wakeAt(fanOutAt);
      else if (this.fanOutPending) {
        this.fanOutPending = false;
        this.lastFanOutAt = Date.now();
        while ((await fanOut(this.sql, FAN_OUT_BATCH)) === FAN_OUT_BATCH && !this.stopped);
      }
      if (!this.stopped) await this.claim();
      // With a backlog, finishing attempts trigger the next passes; otherwise sleep until work is due.
      if (!this.backlog) dueInMs = await msUntilNextDue(this.sql);
    } catch (err) {
      this.log.error({ err }, 'webhook dispatcher pass failed; retrying at the next poll');
    }
    this.schedule(dueInMs);
  }

  /** Sleeps until the earliest pending delivery is due, or the poll interval, whichever is sooner. */
  private schedule(dueInMs: number | null): void {
    const poll = Math.max(this.config.pollMs, 50);
    this.wakeAt(Date.now() + (dueInMs === null ? poll : Math.min(poll, dueInMs)));
  }

  /** Makes sure a pass runs at `at` (epoch ms) at the latest. */
  private wakeAt(at: number): void {
    if (this.stopped || at >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timerAt = Infinity;
        // Also the poll: look for events whose notification was missed.
        this.wake({ fanOut: true });
      },
      Math.max(0, at - Date.now()),
    );
    // The HTTP server keeps the process alive; this timer should not.
    this.timer.unref();
  }

  private async claim(): Promise<void> {
    const slots = this.concurrency - this.inFlight.size;
    if (slots <= 0) {
      this.backlog = true;
      return;
    }
    const claims = await claimDue(this.sql, {
      limit: slots,
      perEndpoint: this.perEndpoint,
      busy: this.busy,
      leaseMs: this.config.timeoutMs + LEASE_MARGIN_MS,
    });
    for (const claim of claims) this.track(claim);
    // Work may have been left behind when the slots ran out or an endpoint reached its limit; then
    // each finished attempt triggers another pass. Otherwise notifications and the timer suffice.
    this.backlog =
      claims.length === slots || [...this.busy.values()].some((n) => n >= this.perEndpoint);
  }

  private track(claim: Claim): void {
    this.busy.set(claim.endpoint_id, (this.busy.get(claim.endpoint_id) ?? 0) + 1);
    const attempt: Promise<void> = this.attempt(claim)
      .catch((err) =>
        this.log.error(
          { err, delivery: claim.id },
          'recording a webhook attempt failed; the lease will expire and it will be retried',
        ),
      )
      .finally(() => {
        this.inFlight.delete(attempt);
        const n = (this.busy.get(claim.endpoint_id) ?? 1) - 1;
        if (n > 0) this.busy.set(claim.endpoint_id, n);
        else this.busy.delete(claim.endpoint_id);
        // A slot is free: take more work if some was left behind.
        if (this.backlog) this.wake();
      });
    this.inFlight.add(attempt);
  }

  private async attempt(claim: Claim): Promise<void> {
    const body = JSON.stringify(claim.payload);
    // Signed per attempt: receivers reject timestamps more than a few minutes old, and retries come later.
    const timestamp = Math.floor(Date.now() / 1000);
    const secrets = claim.previous_secret ? [claim.secret, claim.previous_secret] : [claim.secret];
    const headers = {
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      'webhook-id': claim.event_id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatureHeader(secrets, claim.event_id, timestamp, body),
    };
    const started = performance.now();
    const result = await sendAttempt(claim.url, headers, body, {
      allowPrivate: this.config.allowPrivate,
      timeoutMs: this.config.timeoutMs,
      signal: this.shutdown.signal,
    });
    this.metrics.attempt(result.outcome, (performance.now() - started) / 1000);
    if (result.outcome === 'aborted') return releaseClaim(this.sql, claim);
    if (!(await this.record(claim, result))) {
      this.log.warn(
        { delivery: claim.id },
        'webhook attempt result not recorded: its lease expired, or the endpoint was disabled or deleted meanwhile',
      );
    }
  }

  /** Records the attempt's result; false when the lease was lost meanwhile. */
  private async record(claim: Claim, result: AttemptResult): Promise<boolean> {
    const base = { code: result.status, error: result.error ?? null };
    if (result.outcome === 'succeeded') {
      const recorded = await recordAttempt(this.sql, claim, { ...base, status: 'SUCCEEDED' });
      if (recorded)
        this.metrics.delivered((Date.now() - Date.parse(claim.event_created_at)) / 1000);
      return recorded;
    }
    if (result.status === 410) {
      const reason = `the receiver answered 410 Gone on ${new Date().toISOString()}`;
      const { recorded, disabled } = await recordGone(
        this.sql,
        claim,
        { ...base, status: 'FAILED' },
        reason,
        toEndpoint,
      );
      if (disabled) {
        this.metrics.endpointDisabled();
        this.log.warn(
          { endpoint: claim.endpoint_id },
          'webhook endpoint disabled: its receiver answered 410 Gone',
        );
      }
      return recorded;
    }
    const delayS = retryDelay(claim.attempts, this.config.retrySchedule, result.retryAfterS);
    if (delayS === null) {
      const recorded = await recordAttempt(this.sql, claim, { ...base, status: 'FAILED' });
      if (recorded) {
        this.metrics.failed();
        this.log.warn(
          {
            delivery: claim.id,
            endpoint: claim.endpoint_id,
            attempts: claim.attempts,
            error: result.error,
          },
          'webhook delivery failed after its last attempt',
        );
      }
      return recorded;
    }
    const recorded = await recordAttempt(this.sql, claim, { ...base, status: 'PENDING', delayS });
    // This instance retries it (another one may beat it to the claim, which is as good).
    if (recorded) this.wakeAt(Date.now() + delayS * 1000);
    return recorded;
  }
}
