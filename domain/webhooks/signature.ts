// Standard Webhooks signing (docs/standards.md §8, https://www.standardwebhooks.com): the secret is
// `whsec_` + base64 of random bytes; the HMAC-SHA256 key is those bytes; the signed content is
// "<webhook-id>.<webhook-timestamp>.<body>".
import { createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';

/** A new signing secret: 32 random bytes (the standard asks for 24 to 64). */
export function newSecret(): string {
  return PREFIX + randomBytes(32).toString('base64');
}

function keyOf(secret: string): Buffer {
  if (!secret.startsWith(PREFIX)) throw new Error('webhook secrets start with whsec_');
  return Buffer.from(secret.slice(PREFIX.length), 'base64');
}

/**
 * The `webhook-signature` header value: one `v1,<base64>` per secret, space-separated (the current
 * secret first, then the previous one while a rotation is in its grace period).
 */
export function signatureHeader(
  secrets: string[],
  id: string,
  timestamp: number,
  body: string,
): string {
  const content = `${id}.${timestamp}.${body}`;
  return secrets
    .map((secret) => `v1,${createHmac('sha256', keyOf(secret)).update(content).digest('base64')}`)
    .join(' ');
}
