// When to try a failed delivery again. The schedule (WEBHOOK_RETRY_SCHEDULE, seconds, growing
// roughly exponentially) gives the base delay after each attempt; jitter spreads the retries of the
// many deliveries that failed together (a receiver outage) so they do not return in one burst.

/** A receiver may ask for a pause (Retry-After), but not park a delivery for more than a day. */
export const MAX_RETRY_AFTER_S = 86_400;

const JITTER = 0.2;

/**
 * Seconds until the next attempt after attempt number `attempts` (1-based) failed, or null when
 * that was the last one: a schedule of n delays allows n + 1 attempts. `retryAfterS` (the
 * receiver's Retry-After) is a lower bound.
 */
export function retryDelay(
  attempts: number,
  schedule: readonly number[],
  retryAfterS?: number,
  random = Math.random,
): number | null {
  if (attempts > schedule.length) return null;
  const base = schedule[attempts - 1] * (1 - JITTER + 2 * JITTER * random());
  return retryAfterS === undefined
    ? base
    : Math.max(base, Math.min(retryAfterS, MAX_RETRY_AFTER_S));
}

/** Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Undefined when absent or malformed. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - now) / 1000);
}
