// docs/standards.md §3: OAuth2 bearer JWTs. 401 comes before any parsing or validation; scopes come from
// the spec; only RS256/ES256 from the configured key or JWKS are accepted; iss/aud/exp are checked.
import t from 'tap';
import { createServer } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import { startServer } from './helpers/server.ts';
import { mintToken, testKeys } from './helpers/auth.ts';
import { VerifiedTokens } from '../server/plugins/auth.ts';
import { KeySet } from '../server/plugins/jwks.ts';
import { waitFor } from './helpers/wait.ts';

const CHALLENGE = 'Bearer realm="inventory-api"';

async function bearer(
  s: { url: string },
  token: string,
  path = '/inventory/items',
  init: RequestInit = {},
) {
  return fetch(s.url + path, {
    ...init,
    headers: { ...init.headers, authorization: `Bearer ${token}` },
  });
}

t.test('tokens', async (t) => {
  const s = await startServer(t);

  t.test('no token → 401 with the bearer challenge', async (t) => {
    const res = await s.request('/inventory/items', { token: null });
    t.equal(res.status, 401);
    t.equal(res.headers.get('www-authenticate'), CHALLENGE);
    t.match(await res.json(), {
      type: 'https://problems.inventory-api.dev/unauthorized',
      status: 401,
    });
  });

  t.test('no token and a bad body → 401, not 422 or 400', async (t) => {
    for (const body of ['{"sku": 42}', '{not json', 'x'.repeat(2 * 1024 * 1024)]) {
      const res = await s.request('/inventory/items', {
        method: 'POST',
        token: null,
        headers: { 'content-type': 'application/json' },
        body,
      });
      t.equal(res.status, 401, `body ${body.slice(0, 12)}…`);
    }
  });

  t.test('a bad token and a bad body → 401', async (t) => {
    const res = await bearer(s, 'not.a.jwt', '/inventory/items', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"sku": 42}',
    });
    t.equal(res.status, 401);
    t.match(res.headers.get('www-authenticate'), /error="invalid_token"/);
  });

  const refused: Record<string, string> = {
    expired: mintToken({ claims: { exp: Math.floor(Date.now() / 1000) - 3600 } }),
    'not yet valid': mintToken({ claims: { nbf: Math.floor(Date.now() / 1000) + 3600 } }),
    'wrong issuer': mintToken({ claims: { iss: 'https://evil.example/' } }),
    'wrong audience': mintToken({ claims: { aud: 'some-other-api' } }),
    'alg none': mintToken({ algorithm: 'none' }),
    'HS256 signed with the public key': mintToken({
      algorithm: 'HS256',
      key: testKeys.publicKeyPem,
    }),
    'signed by another key': mintToken({
      key: generateKeyPairSync('ec', { namedCurve: 'P-256' })
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString(),
    }),
    'no exp claim': mintToken({ claims: { exp: undefined } }),
    'warehouses not an array': mintToken({ claims: { warehouses: 'WH-A' } }),
    'not a bearer scheme': '',
  };
  for (const [name, token] of Object.entries(refused)) {
    t.test(`${name} → 401 invalid_token`, async (t) => {
      const res =
        name === 'not a bearer scheme'
          ? await fetch(`${s.url}/inventory/items`, {
              headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
            })
          : await bearer(s, token);
      t.equal(res.status, 401);
      t.match(
        res.headers.get('www-authenticate'),
        /^Bearer realm="inventory-api", error="invalid_token"/,
      );
      const body = await res.json();
      t.match(body, { type: 'https://problems.inventory-api.dev/unauthorized', status: 401 });
      t.comment(body.detail);
    });
  }

  t.test('a clock skew within 60 s is tolerated', async (t) => {
    const res = await bearer(s, mintToken({ claims: { nbf: Math.floor(Date.now() / 1000) + 30 } }));
    t.equal(res.status, 200);
  });

  t.test('a missing scope → 403 insufficient_scope naming it', async (t) => {
    const res = await s.request('/inventory/items', {
      method: 'POST',
      token: { scope: 'inventory:read' },
      json: { sku: 'S', name: 'n', uom: 'EA', track_by: 'NONE' },
    });
    t.equal(res.status, 403);
    t.equal(
      res.headers.get('www-authenticate'),
      'Bearer realm="inventory-api", error="insufficient_scope", scope="inventory:write"',
    );
    t.match(await res.json(), {
      type: 'https://problems.inventory-api.dev/insufficient-scope',
      required_scopes: ['inventory:write'],
    });
  });

  t.test('a missing scope and a bad body → 403, not 422', async (t) => {
    const res = await s.request('/inventory/items', {
      method: 'POST',
      token: { scope: 'inventory:read' },
      json: { sku: 42 },
    });
    t.equal(res.status, 403);
  });

  t.test('a token without a scope claim has no scopes', async (t) => {
    const res = await s.request('/inventory/items', { token: { claims: { scope: undefined } } });
    t.equal(res.status, 403);
  });

  t.test('public operations need no token', async (t) => {
    t.equal((await s.request('/healthz', { token: null })).status, 200);
    t.equal((await s.request('/readyz', { token: null })).status, 200);
  });
});

t.test('warehouses claim: lists filtered, direct access 403', async (t) => {
  const s = await startServer(t);
  const admin = s.client();
  for (const id of ['WH-A', 'WH-B'])
    await admin.POST('/inventory/warehouses', { body: { id, name: id } });
  const restricted = s.client({ warehouses: ['WH-A'] });
  const list = await restricted.GET('/inventory/warehouses');
  t.strictSame(
    list.data?.data.map((w) => w.id),
    ['WH-A'],
  );
  t.equal(
    (await restricted.GET('/inventory/warehouses/{id}', { params: { path: { id: 'WH-A' } } }))
      .response.status,
    200,
  );
  const forbidden = await restricted.GET('/inventory/warehouses/{id}', {
    params: { path: { id: 'WH-B' } },
  });
  t.equal(forbidden.response.status, 403);
  t.match(forbidden.error, {
    type: 'https://problems.inventory-api.dev/warehouse-forbidden',
    warehouse_id: 'WH-B',
  });
  const create = await restricted.POST('/inventory/warehouses', {
    body: { id: 'WH-C', name: 'C' },
  });
  t.equal(create.response.status, 403, 'cannot create a warehouse outside its claim');
  const items = await restricted.GET('/inventory/items', {
    params: { query: { warehouse: 'WH-B' } },
  });
  t.equal(items.response.status, 403, 'cannot filter items by a forbidden warehouse');
});

t.test('keys from a JWKS URL, refreshed on an unknown kid', async (t) => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' };
  let fetches = 0;
  const jwks = createServer((req, res) => {
    fetches++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: req.url === '/keys.json' ? [jwk] : [] }));
  });
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => jwks.close(() => r())));
  const port = (jwks.address() as { port: number }).port;
  const s = await startServer(t, {
    env: { AUTH_PUBLIC_KEY: '', AUTH_JWKS_URL: `http://127.0.0.1:${port}/keys.json` },
  });
  const rsaPem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

  const ok = await bearer(s, mintToken({ algorithm: 'RS256', key: rsaPem, kid: 'k1' }));
  t.equal(ok.status, 200, 'RS256 token whose kid is in the JWKS');
  const unknownKid = await bearer(s, mintToken({ algorithm: 'RS256', key: rsaPem, kid: 'k2' }));
  t.equal(unknownKid.status, 401, 'a kid not in the JWKS');
  t.equal(fetches, 2, 'an unknown kid made the server look at the JWKS again');
  const es = await bearer(s, mintToken({ kid: 'k1' }));
  t.equal(es.status, 401, 'the right kid but signed by a key not in the JWKS');

  // Made-up key ids, 100 of them: within the minute after that refetch, none fetches the set.
  const forged = await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      bearer(s, mintToken({ algorithm: 'RS256', key: rsaPem, kid: `made-up-${i}` })),
    ),
  );
  t.same(new Set(forged.map((r) => r.status)), new Set([401]), 'each is refused');
  t.equal(fetches, 2, 'and the key set was not fetched again (at most once a minute)');
  const still = await bearer(s, mintToken({ algorithm: 'RS256', key: rsaPem, kid: 'k1' }));
  t.equal(still.status, 200, 'known keys keep working meanwhile');
});

t.test('after a key rotation, tokens of the new key arriving together all pass', async (t) => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rsaPem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const jwk = (kid: string) => ({ ...rsa.publicKey.export({ format: 'jwk' }), kid, alg: 'RS256' });
  let keys = [jwk('old')];
  let fetches = 0;
  const jwks = createServer((_req, res) => {
    fetches++;
    res.setHeader('content-type', 'application/json');
    // Slow enough that the tokens below arrive while the refetch is under way.
    setTimeout(() => res.end(JSON.stringify({ keys })), 200);
  });
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => jwks.close(() => r())));
  const port = (jwks.address() as { port: number }).port;
  const s = await startServer(t, {
    env: { AUTH_PUBLIC_KEY: '', AUTH_JWKS_URL: `http://127.0.0.1:${port}/keys.json` },
  });
  const sign = (kid: string, sub: string) =>
    mintToken({ algorithm: 'RS256', key: rsaPem, kid, sub });
  t.equal((await bearer(s, sign('old', 'a'))).status, 200);
  keys = [jwk('old'), jwk('new')];
  const statuses = await Promise.all(
    ['b', 'c', 'd', 'e', 'f'].map(async (sub) => (await bearer(s, sign('new', sub))).status),
  );
  t.same(statuses, [200, 200, 200, 200, 200], 'none refused while the set was being fetched');
  t.equal(fetches, 2, 'one fetch at start, one for the new key');
});

t.test(
  'a JWKS that cannot be reached: the keys known keep serving, and it is asked again after a pause',
  async (t) => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256' };
    let up = true;
    let fetches = 0;
    let keys = [jwk];
    const jwks = createServer((_req, res) => {
      fetches++;
      res.statusCode = up ? 200 : 503;
      res.end(JSON.stringify(up ? { keys } : {}));
    });
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    t.teardown(() => new Promise<void>((r) => jwks.close(() => r())));
    let now = 1_000_000;
    const failures: unknown[] = [];
    const keySet = new KeySet(
      `http://127.0.0.1:${(jwks.address() as { port: number }).port}/`,
      (err) => failures.push(err),
      () => now,
    );
    t.match(await keySet.publicKey('k1', 'RS256'), /BEGIN PUBLIC KEY/);
    up = false;
    now += 11 * 60_000; // past the ten minutes a set is kept
    t.match(await keySet.publicKey('k1', 'RS256'), /BEGIN PUBLIC KEY/, 'the stale key serves');
    // The refresh it started runs in the background, fails, and is reported.
    await waitFor('the failed background refresh', () => failures.length === 1);
    t.equal(fetches, 2, 'a refresh was tried, without making the request wait');
    await keySet.publicKey('k1', 'RS256');
    await t.rejects(keySet.publicKey('k2', 'RS256'), 'an unknown kid is still refused');
    t.equal(fetches, 2, 'not asked again within 30 s of a failure, whatever came meanwhile');
    up = true;
    keys = [jwk, { ...jwk, kid: 'k2' }];
    now += 31_000;
    // The refused k2 above did not use up the minute of unknown-kid refetches: no fetch could
    // start then. So the key the provider added meanwhile is found now.
    t.match(
      await keySet.publicKey('k2', 'RS256'),
      /BEGIN PUBLIC KEY/,
      'asked again after the pause',
    );
    t.equal(fetches, 3);
  },
);

t.test('iss, aud and exp are required claims', async (t) => {
  const s = await startServer(t);
  for (const claim of ['iss', 'aud', 'exp']) {
    const res = await bearer(s, mintToken({ claims: { [claim]: undefined } }));
    t.equal(res.status, 401, `a token without ${claim}`);
    t.match(res.headers.get('www-authenticate'), /required claim/);
  }
});

t.test(
  'verified tokens are remembered by their exact text until exp, at most `max` of them',
  async (t) => {
    const principal = { sub: 'a', clientId: 'a', scopes: new Set<string>(), warehouses: null };
    const tokens = new VerifiedTokens(2);
    const inAnHour = Date.now() / 1000 + 3600;
    tokens.set('t1', principal, inAnHour);
    t.equal(tokens.get('t1'), principal);
    t.equal(tokens.get('t1 '), undefined, 'another text is another token');
    tokens.set('expired', principal, Date.now() / 1000 - 1);
    t.equal(tokens.get('expired'), undefined, 'past its exp it goes back to full verification');
    tokens.set('no-exp', principal, undefined);
    tokens.set('t2', principal, inAnHour);
    t.equal(
      tokens.get('t1'),
      principal,
      'without a numeric exp nothing is kept (so nothing was pushed out)',
    );
    t.equal(tokens.get('no-exp'), undefined);
    tokens.set('t2', principal, inAnHour);
    t.equal(tokens.get('t1'), principal, 'remembering a token again takes no room');
    tokens.set('t3', principal, inAnHour);
    t.equal(tokens.get('t1'), undefined, 'the oldest makes room');
    t.equal(tokens.get('t2'), principal);
    t.equal(tokens.get('t3'), principal);
  },
);
