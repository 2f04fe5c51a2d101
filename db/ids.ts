// Server-made ids: a type prefix and a ULID (time-ordered, 26 Crockford base32 characters), so ids
// sort roughly by creation and say what they name (sm_, po_, pol_, rcpt_, req_, inv_, evt_, whk_, res_).
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export function ulid(now = Date.now()): string {
  let time = '';
  for (let t = now, i = 0; i < 10; i++, t = Math.floor(t / 32)) time = ALPHABET[t % 32] + time;
  const bytes = randomBytes(16);
  let random = '';
  for (let i = 0; i < 16; i++) random += ALPHABET[bytes[i] % 32];
  return time + random;
}

export function newId(prefix: string): string {
  return `${prefix}_${ulid()}`;
}
