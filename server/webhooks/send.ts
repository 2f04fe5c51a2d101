// One delivery attempt: an HTTP POST to the endpoint, connected to the address resolveTarget checked,
// within a deadline. Never throws: every way an attempt can end is an AttemptResult the dispatcher
// records. Redirects are not followed (a redirect could point anywhere, inward included).
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { parseRetryAfter } from './backoff.ts';
import {
  ForbiddenTargetError,
  resolveTarget,
  type ResolvedAddress,
} from '../../domain/webhooks/targets.ts';

export type AttemptOutcome =
  | 'succeeded'
  | 'http_error'
  | 'timeout'
  | 'network_error'
  | 'refused'
  | 'aborted';

export interface AttemptResult {
  outcome: AttemptOutcome;
  /** The receiver's HTTP status, when it answered. */
  status: number | null;
  /** For failures: what went wrong, shown to the partner as the delivery's last_error. */
  error?: string;
  /** The receiver's Retry-After, in seconds. */
  retryAfterS?: number;
}

export interface SendOptions {
  allowPrivate: boolean;
  timeoutMs: number;
  /** Aborted when the server shuts down. */
  signal: AbortSignal;
}

/** A lookup that answers with the address already checked, whatever the name resolves to by now. */
function pinnedLookup({ address, family }: ResolvedAddress): LookupFunction {
  return ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  }) as LookupFunction;
}

function post(
  url: URL,
  target: ResolvedAddress,
  headers: Record<string, string>,
  body: string,
  signal: AbortSignal,
): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? https : http).request(url, {
      method: 'POST',
      headers: { ...headers, 'content-length': Buffer.byteLength(body) },
      lookup: pinnedLookup(target),
      // A fresh connection per attempt: it goes to the address just checked, never to a pooled one.
      agent: false,
      signal,
    });
    request.once('response', resolve);
    // `on`, not `once`: a deadline firing while the body drains destroys the request once more.
    request.on('error', reject);
    request.end(body);
  });
}

function abandonOnAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      if (signal.aborted) reject(signal.reason);
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    }),
  ]);
}

function describe(
  err: unknown,
  signal: AbortSignal,
  timeoutMs: number,
): Pick<AttemptResult, 'outcome' | 'error'> {
  if (err instanceof ForbiddenTargetError) return { outcome: 'refused', error: err.message };
  // Whichever error object an abort surfaced as, the signal's reason says deadline or shutdown.
  if (signal.aborted) {
    return (signal.reason as Error | undefined)?.name === 'TimeoutError'
      ? { outcome: 'timeout', error: `no answer within ${timeoutMs / 1000} s` }
      : { outcome: 'aborted', error: 'the attempt was interrupted by a server shutdown' };
  }
  const e = err as NodeJS.ErrnoException;
  return {
    outcome: 'network_error',
    error: e?.code ? `${e.code}: ${e.message}` : String(e?.message ?? e),
  };
}

export async function sendAttempt(
  rawUrl: string,
  headers: Record<string, string>,
  body: string,
  options: SendOptions,
): Promise<AttemptResult> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = AbortSignal.any([timeout, options.signal]);
  try {
    const url = new URL(rawUrl);
    // DNS counts against the deadline too; the lookup itself cannot be cancelled, only abandoned.
    const target = await abandonOnAbort(resolveTarget(url, options), signal);
    const response = await post(url, target, headers, body, signal);
    // The status is all we need; drain the body so the socket closes cleanly (the deadline still bounds it).
    response.on('error', () => {});
    response.resume();
    const status = response.statusCode ?? 0;
    if (status >= 200 && status < 300) return { outcome: 'succeeded', status };
    const retryAfter = parseRetryAfter(response.headers['retry-after']);
    return {
      outcome: 'http_error',
      status,
      error: `HTTP ${status}${status >= 300 && status < 400 ? ' (redirects are not followed)' : ''}`,
      ...(retryAfter !== undefined && { retryAfterS: retryAfter }),
    };
  } catch (err) {
    return { status: null, ...describe(err, signal, options.timeoutMs) };
  }
}
