// Webhook metrics on the server's registry (GET /metrics). What an operator alerts on: attempts
// failing (by cause), deliveries given up on, endpoints disabled, and work piling up (outbox and
// delivery lag, read from the database at scrape time so every instance reports the shared backlog).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Sql } from '../../db/client.ts';
import { backlog, type Backlog } from '../../db/webhook-dispatch.ts';
import type { AttemptOutcome } from './send.ts';

export interface WebhookMetrics {
  attempt(outcome: AttemptOutcome, seconds: number): void;
  /** A delivery reached its receiver: seconds since the event was committed. */
  delivered(sinceEventS: number): void;
  /** A delivery ran out of attempts. */
  failed(): void;
  endpointDisabled(): void;
}

export function webhookMetrics(registry: Registry, sql: Sql): WebhookMetrics {
  const registers = [registry];
  const attempts = new Histogram({
    name: 'webhook_attempt_duration_seconds',
    help: 'Webhook delivery attempts by outcome (succeeded, http_error, timeout, network_error, refused, aborted) and how long they took',
    labelNames: ['outcome'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const failures = new Counter({
    name: 'webhook_attempt_failures_total',
    help: 'Webhook delivery attempts that failed, by outcome',
    labelNames: ['outcome'] as const,
    registers,
  });
  const endToEnd = new Histogram({
    name: 'webhook_delivery_latency_seconds',
    help: 'From the event being committed to its successful delivery (retries included)',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 300, 3600, 86400],
    registers,
  });
  const failed = new Counter({
    name: 'webhook_deliveries_failed_total',
    help: 'Deliveries marked FAILED after their last attempt',
    registers,
  });
  const disabled = new Counter({
    name: 'webhook_endpoints_disabled_total',
    help: 'Endpoints disabled because the receiver answered 410 Gone',
    registers,
  });

  // The three gauges of one scrape share one query (the result is reused for 100 ms).
  let reading: Promise<Backlog | null> | null = null;
  const read = () =>
    (reading ??= backlog(sql)
      .catch(() => null)
      .finally(() => setTimeout(() => (reading = null), 100).unref()));
  const gauge = (name: string, help: string, pick: (b: Backlog) => number) =>
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        const b = await read();
        if (b) this.set(pick(b)); // database unreachable: keep the last value rather than fail the scrape
      },
    });
  gauge(
    'webhook_outbox_lag_seconds',
    'Age of the oldest outbox event not yet fanned out to deliveries',
    (b) => b.outboxLagS,
  );
  gauge(
    'webhook_delivery_lag_seconds',
    'How overdue the most overdue pending delivery is',
    (b) => b.deliveryLagS,
  );
  gauge(
    'webhook_deliveries_pending',
    'Deliveries waiting for an attempt or a retry',
    (b) => b.pending,
  );

  return {
    attempt(outcome, seconds) {
      attempts.observe({ outcome }, seconds);
      if (outcome !== 'succeeded') failures.inc({ outcome });
    },
    delivered: (s) => endToEnd.observe(s),
    failed: () => failed.inc(),
    endpointDisabled: () => disabled.inc(),
  };
}
