// Server-made ids: a type prefix and a ULID (time-ordered, 26 Crockford base32 characters), so ids
// sort roughly by creation and say what they name (sm_, po_, pol_, rcpt_, req_, inv_, evt_, whk_, res_, vret_, vi_, ror_, rpl_).
import { randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

// Random bytes are drawn 4 KiB at a time (as crypto.randomUUID does): one call into OpenSSL per
// 256 ids instead of one per id, which cost ~3% of a posting's server CPU (a move makes several ids).
const pool = Buffer.alloc(4096);
let used = pool.length;

export function ulid(now = Date.now()): string {
  let time = '';
  for (let t = now, i = 0; i < 10; i++, t = Math.floor(t / 32)) time = ALPHABET[t % 32] + time;
  if (used + 16 > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  let random = '';
  for (let i = 0; i < 16; i++) random += ALPHABET[pool[used + i] % 32];
  used += 16;
  return time + random;
}

export function newId(prefix: string): string {
  return `${prefix}_${ulid()}`;
}
