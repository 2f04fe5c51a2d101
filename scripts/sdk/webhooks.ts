// Template of the SDK's webhooks.ts: scripts/gen.ts copies it into generated/ (docs/sdk.md,
// "Webhooks"). Standard Webhooks verification (docs/standards.md §8) with WebCrypto only, so the
// package runs in Node 20+, Deno, Bun, edge runtimes and browsers alike, without node:crypto.
import type { webhooks } from './api.js';

/** Every event the API sends: the union of the request bodies of the spec's `webhooks`. */
export type WebhookEvent = {
  [K in keyof webhooks]: NonNullable<webhooks[K]['post']>['requestBody'] extends infer B
    ? B extends { content: { 'application/json': infer E } }
      ? E
      : never
    : never;
}[keyof webhooks];

/** The `type` of every event the API sends. */
export type WebhookEventType = WebhookEvent['type'];

/** The event of one type, its `data` typed: `WebhookEventOf<'inventory.stock_level.changed'>['data']['cause']`. */
export type WebhookEventOf<T extends WebhookEventType> = Extract<WebhookEvent, { type: T }>;

/** A request that is not a genuine, fresh webhook of the API: do not act on it (answer 400). */
export class WebhookVerificationError extends Error {
  override name = 'WebhookVerificationError';
}

export interface VerifyWebhookOptions {
  /** How far `webhook-timestamp` may be from now, in seconds (default 300: replays are refused). */
  toleranceSeconds?: number;
  /** The current time in milliseconds (default Date.now()), for tests. */
  now?: number;
}

/** Headers as a Fetch `Headers` object or as Node's `IncomingHttpHeaders`. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function')
    return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  const value =
    record[name] ?? Object.entries(record).find(([key]) => key.toLowerCase() === name)?.[1];
  return Array.isArray(value) ? value.join(' ') : value;
}

function base64ToBytes(text: string): Uint8Array<ArrayBuffer> | undefined {
  try {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return undefined;
  }
}

/**
 * Checks a webhook request and returns its event, typed by `type`. `body` must be the raw request
 * body, byte for byte as received (re-serialised JSON breaks the signature). `secret` is the
 * endpoint's `whsec_...` secret (the prefix may be left off), or several (the new and the old one while you rotate). Throws
 * WebhookVerificationError when a header is missing, the timestamp is more than 5 minutes off, or
 * no `v1,` signature matches.
 */
export async function verifyWebhook(
  body: string | Uint8Array,
  headers: WebhookHeaders,
  secret: string | readonly string[],
  { toleranceSeconds = 300, now = Date.now() }: VerifyWebhookOptions = {},
): Promise<WebhookEvent> {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures)
    throw new WebhookVerificationError(
      'missing webhook-id, webhook-timestamp or webhook-signature',
    );
  if (!/^\d+$/.test(timestamp) || Math.abs(now / 1000 - Number(timestamp)) > toleranceSeconds)
    throw new WebhookVerificationError(
      `webhook-timestamp is more than ${toleranceSeconds} seconds off`,
    );
  // Bytes are signed as received: decoding and re-encoding them would change a BOM or any byte
  // that is not UTF-8, and the signature with it. They are decoded only to parse the JSON.
  const prefix = new TextEncoder().encode(`${id}.${timestamp}.`);
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  const signed = new Uint8Array(prefix.length + bytes.length);
  signed.set(prefix);
  signed.set(bytes, prefix.length);
  const text = typeof body === 'string' ? body : new TextDecoder().decode(body);
  // One "v1,<base64>" per secret the sender signed with (two after a rotation); one match is enough.
  // Entries are space-separated, but a proxy that merges repeated header lines joins them with
  // ", ": split before each "v<n>," and drop the separators left on either side.
  const given = signatures
    .split(/[\s,]+(?=v\d+,)/)
    .map((s) => s.trim().replace(/,+$/, ''))
    .filter((s) => s.startsWith('v1,'))
    .map((s) => base64ToBytes(s.slice(3)))
    .filter((s) => s !== undefined);
  for (const candidate of typeof secret === 'string' ? [secret] : secret) {
    // Standard Webhooks libraries take the secret with or without its whsec_ prefix.
    const raw = base64ToBytes(
      candidate.startsWith('whsec_') ? candidate.slice('whsec_'.length) : candidate,
    );
    if (!raw) throw new WebhookVerificationError('the webhook secret is not valid base64');
    const key = await crypto.subtle.importKey(
      'raw',
      raw,
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['verify'],
    );
    // subtle.verify compares in constant time: no timing hints about a forged signature.
    for (const signature of given)
      if (await crypto.subtle.verify('HMAC', key, signature, signed))
        return JSON.parse(text) as WebhookEvent;
  }
  throw new WebhookVerificationError('no webhook-signature matches the secret');
}
