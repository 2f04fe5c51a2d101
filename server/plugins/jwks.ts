// The identity provider's signing keys, from its JWKS URL (docs/standards.md §3). The whole key
// set is fetched at once and kept for ten minutes. A token naming a key id not in it may mean the
// provider rotated its keys, so the set is fetched again — but at most once a minute for that
// reason, whatever the number of such tokens: otherwise every request with a made-up `kid` would
// make this server fetch the provider's key set (a rotated key is picked up within a minute).
// Once keys are known, an expired set is refreshed in the background while it keeps serving, and
// a provider that cannot be reached is not asked again for RETRY_MS: no request waits on it
// (before any key is known, the pause is a second: every request depends on that first fetch).
import { createPublicKey } from 'node:crypto';

const KEEP_MS = 10 * 60_000;
const UNKNOWN_KID_REFETCH_MS = 60_000;
const RETRY_MS = 30_000;
const FIRST_RETRY_MS = 1_000;
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
  /** After a failed fetch: no other before this time. */
  private retryAt = -Infinity;

  constructor(
    private readonly url: string,
    /** Told of every failed fetch (the keys known before keep serving meanwhile). */
    private readonly onError: (err: unknown) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  /** The PEM of the key `kid` for `alg`; UnknownKeyError when the key set has no such key. */
  async publicKey(kid: string | undefined, alg: string | undefined): Promise<string> {
    if (!this.keys) await this.refresh();
    else if (this.now() - this.keys.at > KEEP_MS) this.refresh().catch(() => {});
    let key = this.find(kid);
    // A fetch under way (another token's new kid, say) may bring this one's key: wait for it
    // rather than refuse a token of a just-rotated key.
    if (!key && this.fetching) {
      await this.fetching.catch(() => {});
      key = this.find(kid);
    }
    // Counted only when a fetch can start: during a pause after a failure, a new kid must not use
    // up the minute it will need once the provider is back.
    if (
      !key &&
      this.now() - this.lastUnknownKidFetch >= UNKNOWN_KID_REFETCH_MS &&
      this.now() >= this.retryAt
    ) {
      this.lastUnknownKidFetch = this.now();
      await this.refresh().catch(() => {});
      key = this.find(kid);
    }
    if (!key || (key.alg !== undefined && alg !== undefined && key.alg !== alg))
      throw new UnknownKeyError(`no key ${kid ?? '(no kid)'} for ${alg} in the key set`);
    return key.pem;
  }

  private find(kid: string | undefined) {
    return kid === undefined ? undefined : this.keys?.byKid.get(kid);
  }

  /**
   * One fetch at a time: concurrent callers wait for the same one. After a failure, none for
   * RETRY_MS (callers get the failure at once; keys fetched before stay in use).
   */
  private refresh(): Promise<void> {
    if (this.fetching) return this.fetching;
    if (this.now() < this.retryAt)
      return Promise.reject(new Error('the JWKS URL failed recently; not asked again yet'));
    this.fetching = this.fetchKeys()
      .catch((err) => {
        this.retryAt = this.now() + (this.keys ? RETRY_MS : FIRST_RETRY_MS);
        this.onError(err);
        throw err;
      })
      .finally(() => {
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
