// Template of the SDK's entry point: scripts/gen.ts copies it into generated/client.ts, next to the
// generated api.ts and problems.ts it imports. What it does and why is docs/sdk.md; the API rules
// it follows are docs/standards.md §4 (idempotency), §6 (pagination) and §7 (Retry-After).
// Relative imports end in .js (resolved to the .ts file by TypeScript and tsx alike, and to the
// built .js/.cjs in the package).
import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, paths } from './api.js';

export type { paths, components, operations, webhooks } from './api.js';
export {
  isProblem,
  problemTypes,
  type Problem,
  type ProblemOf,
  type ProblemSlug,
} from './problems.js';
export {
  verifyWebhook,
  WebhookVerificationError,
  type VerifyWebhookOptions,
  type WebhookEvent,
  type WebhookEventType,
  type WebhookHeaders,
} from './webhooks.js';

export interface ApiClientOptions extends ClientOptions {
  /** A bearer token, or a function returning one (called per request, so it can refresh). */
  token?: string | (() => string | Promise<string>);
  /**
   * How many times a failed request is sent again (default 2): on a network error, a timeout,
   * 429 or 503, and only a GET or a POST (which always carries an Idempotency-Key). 0 turns it off.
   */
  retries?: number;
  /** Milliseconds each attempt may take before it is aborted (default: no limit). */
  timeoutMs?: number;
}

// ---- Types: the spec's paths, with Idempotency-Key optional (the client makes one) ----

type LoosenHeader<H> = H extends { 'Idempotency-Key': unknown }
  ? Omit<H, 'Idempotency-Key'> & { 'Idempotency-Key'?: H['Idempotency-Key'] }
  : H;
type LoosenParameters<P> = P extends { header: infer H }
  ? Omit<P, 'header'> &
      (object extends LoosenHeader<H> ? { header?: LoosenHeader<H> } : { header: LoosenHeader<H> })
  : P;
type LoosenOperation<O> = O extends { parameters: infer P }
  ? Omit<O, 'parameters'> & { parameters: LoosenParameters<P> }
  : O;

/** The API's paths as the SDK takes them: a POST's Idempotency-Key may be left out (If-Match may not). */
export type SdkPaths = {
  [P in keyof paths]: {
    [M in keyof paths[P]]: M extends 'post' ? LoosenOperation<paths[P][M]> : paths[P][M];
  };
};

type JsonOf<R> = R extends { content: { 'application/json': infer J } } ? J : never;
type ListBody<P extends keyof paths> = paths[P] extends { get: { responses: { 200: infer R } } }
  ? JsonOf<R>
  : never;

/** The paths whose GET answers a page: `{ data: [...], page: { next_cursor? } }`. */
export type ListPath = {
  [P in keyof paths]: [ListBody<P>] extends [never]
    ? never
    : ListBody<P> extends { data: unknown[]; page: components['schemas']['Page'] }
      ? P
      : never;
}[keyof paths];

/** The type of the items a list path returns. */
export type ListItem<P extends ListPath> = ListBody<P> extends { data: (infer T)[] } ? T : never;

type GetParameters<P extends ListPath> = paths[P] extends { get: { parameters: infer Q } }
  ? Q
  : never;
/** A list's parameters, without `cursor` (paginate follows the pages itself). */
export type ListParams<P extends ListPath> = {
  [K in keyof GetParameters<P>]: K extends 'query'
    ? Omit<NonNullable<GetParameters<P>[K]>, 'cursor'>
    : GetParameters<P>[K];
};

/** A failed call inside paginate: the HTTP status and the problem document the API answered. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly problem: components['schemas']['Problem'] | undefined,
    readonly response: Response,
  ) {
    super(`HTTP ${status}${problem ? ` ${problem.type}: ${problem.detail}` : ''}`);
  }
}

export type ApiClient = Client<SdkPaths> & {
  /**
   * Every item of a list, page after page (follows `page.next_cursor` with `cursor`). Throws
   * ApiError when a page cannot be read.
   */
  paginate<P extends ListPath>(
    path: P,
    ...params: object extends ListParams<P> ? [params?: ListParams<P>] : [params: ListParams<P>]
  ): AsyncIterableIterator<ListItem<P>>;
};

// ---- Retries ----

const RETRY_STATUSES = new Set([429, 503]);
const BASE_DELAY_MS = 100;
const MAX_DELAY_MS = 5_000;

/**
 * Only requests a second copy of cannot harm are retried: GET and HEAD, and POSTs, which carry an
 * Idempotency-Key (the server replays the first answer). PUT and DELETE are not: they carry
 * If-Match, so a retry of one whose first attempt committed would fail with 412 (docs/sdk.md).
 */
function retryable(request: Request): boolean {
  return (
    request.method === 'GET' ||
    request.method === 'HEAD' ||
    (request.method === 'POST' && request.headers.has('Idempotency-Key'))
  );
}

/** The longest Retry-After a retry waits for; a longer one returns the answer to the caller. */
const MAX_RETRY_AFTER_MS = 60_000;

/** Retry-After in milliseconds: delay-seconds or an HTTP-date (RFC 9110 §10.2.3), never negative. */
function retryAfterMs(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Full jitter (a random wait up to the exponential bound), or Retry-After when the server set one. */
function delayMs(attempt: number, response?: Response): number {
  const retryAfter = retryAfterMs(response?.headers.get('Retry-After'));
  if (retryAfter !== undefined) return retryAfter;
  return Math.random() * Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt);
}

const sleep = (ms: number, signal?: AbortSignal | null) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

function retryingFetch(
  baseFetch: (input: Request) => Promise<Response>,
  retries: number,
  timeoutMs: number | undefined,
): (input: Request) => Promise<Response> {
  return async (request) => {
    const attempts = retryable(request) ? retries + 1 : 1;
    for (let attempt = 0; ; attempt++) {
      const last = attempt === attempts - 1;
      // Each attempt sends its own copy: a body can be read once.
      const copy = last ? request : request.clone();
      const signal =
        timeoutMs === undefined
          ? request.signal
          : AbortSignal.any([request.signal, AbortSignal.timeout(timeoutMs)]);
      let response: Response;
      try {
        response = await baseFetch(new Request(copy, { signal }));
      } catch (error) {
        // The caller's own abort ends it; a network error or a timed-out attempt is retried.
        if (last || request.signal.aborted) throw error;
        await sleep(delayMs(attempt), request.signal);
        continue;
      }
      if (last || !RETRY_STATUSES.has(response.status)) return response;
      const delay = delayMs(attempt, response);
      // A server that asks for a long pause (Retry-After: 3600) gets its answer back to the caller
      // rather than a call that hangs for an hour.
      if (delay > MAX_RETRY_AFTER_MS) return response;
      await response.body?.cancel();
      await sleep(delay, request.signal);
    }
  };
}

// ---- The client ----

/** A typed client for every operation of the Inventory & Procurement API (docs/sdk.md). */
export function createApiClient({
  token,
  retries = 2,
  timeoutMs,
  fetch: baseFetch = globalThis.fetch,
  ...options
}: ApiClientOptions = {}): ApiClient {
  const client = createClient<SdkPaths>({
    ...options,
    fetch: retryingFetch(baseFetch, Math.max(0, Math.floor(retries)), timeoutMs),
  });
  client.use({
    async onRequest({ request }) {
      if (token !== undefined)
        request.headers.set(
          'Authorization',
          `Bearer ${typeof token === 'function' ? await token() : token}`,
        );
      // Made once per call, before the first attempt: every retry carries the same key.
      if (request.method === 'POST' && !request.headers.has('Idempotency-Key'))
        request.headers.set('Idempotency-Key', crypto.randomUUID());
      return request;
    },
  });
  async function* paginate(path: string, params: Record<string, any> = {}) {
    let cursor: string | undefined;
    // A server that hands back a cursor it gave before would loop forever: fail instead.
    const seen = new Set<string>();
    do {
      const { data, error, response } = await (client as Client<any>).GET(path, {
        params: { ...params, query: { ...params.query, ...(cursor && { cursor }) } },
      });
      if (!data) throw new ApiError(response.status, error, response);
      yield* data.data;
      cursor = data.page.next_cursor;
      if (cursor) {
        if (seen.has(cursor))
          throw new Error(`paginate: ${path} returned the cursor ${cursor} a second time`);
        seen.add(cursor);
      }
    } while (cursor);
  }
  return Object.assign(client, { paginate }) as ApiClient;
}
