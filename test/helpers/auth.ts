// Test signing keys and tokens. The server under test trusts TEST_PUBLIC_KEY for TEST_ISSUER /
// TEST_AUDIENCE; tests mint tokens with any claims, algorithm or key they need.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createSigner } from 'fast-jwt';

export const TEST_ISSUER = 'https://auth.test.inventory-api.dev/';
export const TEST_AUDIENCE = 'inventory-api';
export const ALL_SCOPES = 'inventory:read inventory:write procurement:write webhooks:manage';

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
    iss: TEST_ISSUER,
    aud: TEST_AUDIENCE,
    expiresIn: (o.expiresIn ?? 600) * 1000,
    kid: o.kid,
  } as any);
  const claims: Record<string, unknown> = { sub: o.sub ?? 'tester', scope: o.scope ?? ALL_SCOPES, ...o.claims };
  if (o.client_id) claims.client_id = o.client_id;
  if (o.warehouses) claims.warehouses = o.warehouses;
  return sign(claims);
}
