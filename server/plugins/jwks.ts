// The identity provider's signing keys, from its JWKS URL (docs/standards.md §3). The whole key
// set is fetched at once and kept for ten minutes. A token naming a key id not in it may mean the
// provider rotated its keys, so the set is fetched again — but at most once a minute for that
// reason, whatever the number of such tokens: otherwise every request with a made-up `kid` would
// make this server fetch the provider's key set (a rotated key is picked up within a minute).
import { createPublicKey } from 'node:crypto';

const KEEP_MS = 10 * 60_000;
const UNKNOWN_KID_REFETCH_MS = 60_000;
const FETCH_TIMEOUT_MS = 5_000;

interface Jwk {
  kid?: string;
  alg?: string;
  use?: string;
  [member: string]: unknown;
}

export class UnknownKeyError extends Error {}

export class KeySet {
  /** PEM public keys by kid, with the time they were fetched. */
  private keys: { byKid: Map<string, { pem: string; alg?: string }>; at: number } | null = null;
  private fetching: Promise<void> | null = null;
  private lastUnknownKidFetch = -Infinity;

  constructor(
    private readonly url: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** The PEM of the key `kid` for `alg`; UnknownKeyError when the key set has no such key. */
  async publicKey(kid: string | undefined, alg: string | undefined): Promise<string> {
    if (!this.keys || this.now() - this.keys.at > KEEP_MS) await this.refreshOrKeep();
    let key = this.find(kid);
    if (!key && this.now() - this.lastUnknownKidFetch >= UNKNOWN_KID_REFETCH_MS) {
      this.lastUnknownKidFetch = this.now();
      await this.refreshOrKeep();
      key = this.find(kid);
    }
    if (!key || (key.alg !== undefined && alg !== undefined && key.alg !== alg))
      throw new UnknownKeyError(`no key ${kid ?? '(no kid)'} for ${alg} in the key set`);
    return key.pem;
  }

  private find(kid: string | undefined) {
    return kid === undefined ? undefined : this.keys?.byKid.get(kid);
  }

  /** While the provider is unreachable, the keys fetched before stay in use (none: the error). */
  private async refreshOrKeep(): Promise<void> {
    try {
      await this.refresh();
    } catch (err) {
      if (!this.keys) throw err;
    }
  }

  /** One fetch at a time: concurrent callers wait for the same one. */
  private refresh(): Promise<void> {
    this.fetching ??= this.fetchKeys().finally(() => {
      this.fetching = null;
    });
    return this.fetching;
  }

  private async fetchKeys(): Promise<void> {
    const response = await fetch(this.url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`the JWKS URL answered ${response.status}`);
    const body = (await response.json()) as { keys?: Jwk[] };
    const byKid = new Map<string, { pem: string; alg?: string }>();
    for (const jwk of body.keys ?? []) {
      if (typeof jwk.kid !== 'string' || (jwk.use !== undefined && jwk.use !== 'sig')) continue;
      try {
        const pem = createPublicKey({ key: jwk as never, format: 'jwk' })
          .export({ type: 'spki', format: 'pem' })
          .toString();
        byKid.set(jwk.kid, { pem, alg: jwk.alg });
      } catch {
        // A key of a type Node cannot read is one no accepted token can be signed with.
      }
    }
    this.keys = { byKid, at: this.now() };
  }
}
