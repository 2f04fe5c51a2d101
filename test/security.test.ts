// Security suite derived from the spec (docs/security.md): for EVERY operation with a security requirement,
// no token → 401, each kind of bad token → 401, a token lacking the operation's scope → 403, a
// token with exactly that scope → neither; public operations need no token; bodies over 1 MiB → 413.
import t from 'tap';
import fc from 'fast-check';
import { generateKeyPairSync } from 'node:crypto';
import { operations } from '../server/spec.ts';
import { startServer } from './helpers/server.ts';
import { mintToken, testKeys, ALL_SCOPES } from './helpers/auth.ts';
import {
  send,
  validRequest,
  bodySchemaOf,
  exampleBody,
  type SpecRequest,
} from './helpers/spec-requests.ts';

const now = () => Math.floor(Date.now() / 1000);
const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();
const badTokens: Record<string, () => string> = {
  expired: () => mintToken({ claims: { exp: now() - 120 } }),
  'not yet valid': () => mintToken({ claims: { nbf: now() + 3600 } }),
  'another issuer': () => mintToken({ claims: { iss: 'https://evil.example/' } }),
  'another audience': () => mintToken({ claims: { aud: 'billing-api' } }),
  'alg none': () => mintToken({ algorithm: 'none' }),
  'HS256 signed with the public key': () =>
    mintToken({ algorithm: 'HS256', key: testKeys.publicKeyPem }),
  'a key we do not trust': () => mintToken({ key: otherKey }),
  garbage: () => 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln',
};

/** One request per operation: the spec's example body where it has one, else a generated one. */
function requestFor(operationId: string): SpecRequest {
  const [req] = fc.sample(validRequest(operationId), { numRuns: 1, seed: 42 });
  const example = exampleBody(operations.get(operationId)!);
  return example === undefined ? req : { ...req, json: example };
}

t.test('every operation enforces its security requirement', async (t) => {
  const s = await startServer(t);
  let requests = 0;
  const go = (req: SpecRequest, token: string | null) => {
    requests++;
    return send(s.url, req, token);
  };
  for (const [operationId, meta] of operations) {
    const req = requestFor(operationId);
    if (meta.scopes === null) {
      const res = await go(req, null);
      t.equal(res.status, 200, `${operationId}: public`);
      continue;
    }
    const anonymous = await go(req, null);
    t.equal(anonymous.status, 401, `${operationId}: no token → 401`);
    t.equal(anonymous.headers.get('www-authenticate'), 'Bearer realm="inventory-api"');
    for (const [name, make] of Object.entries(badTokens)) {
      const res = await go(req, make());
      t.equal(res.status, 401, `${operationId}: ${name} → 401`);
      t.match(res.headers.get('www-authenticate'), /error="invalid_token"/);
    }
    const others = ALL_SCOPES.split(' ')
      .filter((scope) => !meta.scopes!.includes(scope))
      .join(' ');
    const wrongScope = await go(req, mintToken({ scope: others }));
    t.equal(
      wrongScope.status,
      403,
      `${operationId}: every scope but ${meta.scopes.join(' ')} → 403`,
    );
    t.match(await wrongScope.json(), {
      type: 'https://problems.inventory-api.dev/insufficient-scope',
      required_scopes: meta.scopes,
    });
    const rightScope = await go(req, mintToken({ scope: meta.scopes.join(' ') }));
    t.notOk(
      [401, 403].includes(rightScope.status),
      `${operationId}: exactly ${meta.scopes.join(' ')} is enough (got ${rightScope.status})`,
    );
    if (bodySchemaOf(meta)) {
      const huge = await go({ ...req, json: { padding: 'x'.repeat(1_100_000) } }, mintToken());
      t.equal(huge.status, 413, `${operationId}: a body over 1 MiB → 413`);
    }
  }
  t.comment(`${operations.size} operations, ${requests} requests`);
});
