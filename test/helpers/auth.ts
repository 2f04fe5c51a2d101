// Test signing keys and tokens. The server under test trusts TEST_PUBLIC_KEY for TEST_ISSUER /
// TEST_AUDIENCE; tests mint tokens with any claims, algorithm or key they need.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createSigner } from 'fast-jwt';

export const TEST_ISSUER = 'https://auth.test.inventory-api.dev/';
export const TEST_AUDIENCE = 'inventory-api';
export const ALL_SCOPES =
  'inventory:read inventory:write procurement:write procurement:approve webhooks:manage';

const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
export const testKeys: { privateKey: KeyObject; publicKeyPem: string; privateKeyPem: string } = {
  privateKey: pair.privateKey,
  publicKeyPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  privateKeyPem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
};

export interface TokenOptions {
  scope?: string;
  sub?: string;
  client_id?: string;
  warehouses?: string[];
  /** Extra or overriding claims (iss, aud, exp, nbf, ...). */
  claims?: Record<string, unknown>;
  /** Seconds until expiry (default 600). */
  expiresIn?: number;
  algorithm?: 'ES256' | 'RS256' | 'HS256' | 'none';
  /** Signing key (PEM or secret); defaults to the trusted test key. */
  key?: string;
  kid?: string;
}

export function mintToken(o: TokenOptions = {}): string {
  const algorithm = o.algorithm ?? 'ES256';
  const sign = createSigner({
    key: algorithm === 'none' ? undefined : (o.key ?? testKeys.privateKeyPem),
    algorithm,
    kid: o.kid,
  } as any);
  const now = Math.floor(Date.now() / 1000);
  // Registered claims go in the payload (not signer options) so tests can override or drop any of them.
  const claims: Record<string, unknown> = {
    iss: TEST_ISSUER,
    aud: TEST_AUDIENCE,
    iat: now,
    exp: now + (o.expiresIn ?? 600),
    sub: o.sub ?? 'tester',
    scope: o.scope ?? ALL_SCOPES,
    ...(o.client_id && { client_id: o.client_id }),
    ...(o.warehouses && { warehouses: o.warehouses }),
    ...o.claims,
  };
  for (const key of Object.keys(claims)) if (claims[key] === undefined) delete claims[key];
  return sign(claims);
}
