// docs/standards.md §7: quotas per client (per IP without a token), announced on every response,
// 429 problem+json with Retry-After when used up.
import t from 'tap';
import { startServer } from './helpers/server.ts';

t.test('rate limits', async (t) => {
  const s = await startServer(t, { env: { RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_S: '60' } });
  // One token per client, each verified once: its first request also counts against the IP's
  // quota (a token never seen is), so three clients fit this IP's quota of three.
  const bearer = (token: string) => ({
    token: null,
    headers: { authorization: `Bearer ${token}` },
  });
  const alice = bearer(s.token({ client_id: 'alice-app' }));

  const first = await s.request('/inventory/items', alice);
  t.equal(first.headers.get('ratelimit-policy'), '"default";q=3;w=60');
  t.match(first.headers.get('ratelimit'), /^"default";r=2;t=\d+$/);
  await s.request('/inventory/items', alice);
  const third = await s.request('/nope', alice);
  t.equal(third.status, 404);
  t.match(
    third.headers.get('ratelimit'),
    /^"default";r=0;t=\d+$/,
    'unknown routes count and carry the headers',
  );

  const over = await s.request('/inventory/items', alice);
  t.equal(over.status, 429);
  t.match(over.headers.get('content-type'), /^application\/problem\+json/);
  t.ok(Number(over.headers.get('retry-after')) > 0);
  t.match(await over.json(), {
    type: 'https://iana.org/assignments/http-problem-types#quota-exceeded',
    title: 'Too many requests',
    status: 429,
  });

  const bob = await s.request('/inventory/items', bearer(s.token({ client_id: 'bob-app' })));
  t.equal(bob.status, 200, 'another client has its own quota');
  const sameSubOtherClient = await s.request(
    '/inventory/items',
    bearer(s.token({ client_id: 'carol-app', sub: 'tester' })),
  );
  t.equal(sameSubOtherClient.status, 200, 'keyed by client_id, not by sub');
});

t.test('unauthenticated requests are limited per IP; known tokens are not', async (t) => {
  const s = await startServer(t, { env: { RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_S: '60' } });
  // Dave's token is verified (and remembered) before the IP's quota runs out.
  const asDave = {
    token: null,
    headers: { authorization: `Bearer ${s.token({ client_id: 'dave-app' })}` },
  };
  t.equal((await s.request('/healthz', asDave)).status, 200);
  for (let i = 0; i < 2; i++) await s.request('/healthz', { token: null });
  const anonymous = await s.request('/healthz', { token: null });
  t.equal(anonymous.status, 429, 'unauthenticated traffic is limited per IP');
  t.equal((await s.request('/healthz', asDave)).status, 200, 'a known token has its own quota');
  const fresh = await s.request('/healthz', { token: { client_id: 'erin-app' } });
  t.equal(fresh.status, 429, "a token never seen counts against its IP's quota before its check");
  t.match(await fresh.json(), { status: 429 });
});

t.test(
  'a token never seen is counted against its IP before its signature is checked; a known one is not',
  async (t) => {
    const s = await startServer(t, { env: { RATE_LIMIT_MAX: '5' } });
    // Each a valid token never seen before: the IP's quota of 5 takes five, whoever they are.
    const statuses = [];
    for (let i = 0; i < 7; i++)
      statuses.push((await s.request('/healthz', { token: { client_id: `app-${i}` } })).status);
    t.same(statuses, [200, 200, 200, 200, 200, 429, 429]);
    // A forged token: refused by the IP's quota before its signature would be.
    const forged = await s.request('/healthz', {
      token: null,
      headers: { authorization: 'Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln' },
    });
    t.equal(forged.status, 429);
  },
);

t.test(
  'behind a load balancer (TRUST_PROXY): unauthenticated clients are told apart by X-Forwarded-For',
  async (t) => {
    const via = (client: string) => ({ token: null, headers: { 'x-forwarded-for': client } });
    const trusting = await startServer(t, {
      env: { RATE_LIMIT_MAX: '1', TRUST_PROXY: '127.0.0.1' },
    });
    t.equal((await trusting.request('/healthz', via('203.0.113.7'))).status, 200);
    t.equal(
      (await trusting.request('/healthz', via('203.0.113.7'))).status,
      429,
      'one client used its quota',
    );
    t.equal(
      (await trusting.request('/healthz', via('198.51.100.2'))).status,
      200,
      'another has its own, though both came through the same proxy',
    );

    // Without it the proxy's address is everybody's: one client's excess starves all (health checks included).
    const naive = await startServer(t, { env: { RATE_LIMIT_MAX: '1' } });
    t.equal((await naive.request('/healthz', via('203.0.113.7'))).status, 200);
    t.equal((await naive.request('/healthz', via('198.51.100.2'))).status, 429);
  },
);
