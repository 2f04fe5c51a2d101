// Hostile input answered as every other error is (docs/standards.md §1), from every layer: the
// router, Node's HTTP parser, the body parser, and what PostgreSQL cannot store; and /metrics
// behind its own token (docs/deploy.md). Each case once broke the server or answered outside
// problem+json; none asserts time.
import { connect } from 'node:net';
import { request } from 'node:http';
import t from 'tap';
import { startServer } from './helpers/server.ts';
import { startStockServer } from './helpers/stock.ts';
import { findUnstorable, nestedDeeperThan } from '../server/plugins/json-body.ts';

const PROBLEM = /^application\/problem\+json/;

/** Sends raw bytes and reads the whole answer (the server closes the connection). */
function rawRequest(url: string, text: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(text, 'latin1'));
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk.toString('utf8');
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
  });
}

t.test('router and HTTP errors are problem+json with a request id', async (t) => {
  const s = await startServer(t);
  const badEncoding = await s.request('/inventory/items/%E0%A4%A');
  t.equal(badEncoding.status, 400, 'a path that is not percent-encoded UTF-8');
  t.match(badEncoding.headers.get('content-type'), PROBLEM);
  const bad = (await badEncoding.json()) as { request_id: string };
  t.match(bad, { type: 'https://problems.inventory-api.dev/malformed-request', status: 400 });
  t.equal(badEncoding.headers.get('x-request-id'), bad.request_id, 'the id is in both');

  const longId = await s.request(`/inventory/items/${'x'.repeat(300)}`);
  t.equal(longId.status, 404, 'an id over 100 characters names nothing');
  t.match(longId.headers.get('content-type'), PROBLEM);
  t.match(await longId.json(), { type: 'https://problems.inventory-api.dev/not-found' });
  t.ok(longId.headers.get('x-request-id'));

  const wrongMethod = await s.request('/inventory/items', { method: 'PATCH' });
  t.equal(wrongMethod.status, 405);
  t.match(wrongMethod.headers.get('content-type'), PROBLEM);

  // A control character in the Authorization header: Node's parser refuses the request.
  const garbled = await rawRequest(
    s.url,
    'GET /inventory/items HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \x01\x7f\r\n\r\n',
  );
  t.match(garbled, /^HTTP\/1\.1 400 /, 'a garbled Authorization header: 400');
  t.match(garbled, /content-type: application\/problem\+json/i);
  t.match(garbled, /x-request-id: [0-9a-f-]{36}/i);
  const body = JSON.parse(garbled.slice(garbled.indexOf('\r\n\r\n') + 4));
  t.match(body, { type: 'https://problems.inventory-api.dev/malformed-request', status: 400 });
  t.match(garbled, new RegExp(`x-request-id: ${body.request_id}`, 'i'));
});

t.test('JSON nested deeper than 64 levels: 400, found before anything walks it', async (t) => {
  const { s } = await startStockServer(t, ['WH-A'], { 'sku-1': 'NONE' });
  const send = (body: string) =>
    s.request('/inventory/stock-moves', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': crypto.randomUUID() },
      body,
    });
  for (const [what, body] of [
    ['arrays 10,000 deep', `${'['.repeat(10_000)}${']'.repeat(10_000)}`],
    ['objects 10,000 deep', `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`],
    ['65 levels', `${'['.repeat(65)}${']'.repeat(65)}`],
    ['a field 500,000 deep', `{"reason":${'['.repeat(500_000)}${']'.repeat(500_000)}}`],
  ]) {
    const res = await send(body);
    t.equal(res.status, 400, what);
    t.match(await res.json(), {
      type: 'https://problems.inventory-api.dev/malformed-request',
      detail: /deeper than 64/,
    });
  }
  const brackets = await send(
    JSON.stringify({
      type: 'RECEIPT',
      to_wh: 'WH-A',
      reason: `${'['.repeat(100)} brackets in a string do not nest`,
      lines: [{ item_id: 'sku-1', qty: 1 }],
    }),
  );
  t.equal(brackets.status, 201, 'brackets inside strings are text, not nesting');
  const sixtyFour = await send(`${'['.repeat(64)}${']'.repeat(64)}`);
  t.equal(sixtyFour.status, 422, '64 levels parse (and then fail the schema)');
  t.equal((await s.request('/healthz')).status, 200, 'the server is unharmed');
});

t.test('text PostgreSQL cannot store: 422 naming the field, and nothing changes', async (t) => {
  const { s } = await startStockServer(t, ['WH-A'], { 'sku-1': 'NONE' });
  const move = (reference: string) =>
    s.request('/inventory/stock-moves', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': crypto.randomUUID() },
      // Written by hand: JSON.stringify would escape the surrogate the same way, but this is
      // exactly what a hostile client sends.
      body: `{"type":"RECEIPT","to_wh":"WH-A","reason":"r","reference":"${reference}","lines":[{"item_id":"sku-1","qty":1}]}`,
    });
  for (const [reference, code] of [
    ['\\ud800', 'lone_surrogate'],
    ['x\\udfffy', 'lone_surrogate'],
    ['a\\u0000b', 'nul_character'],
  ]) {
    const res = await move(reference);
    t.equal(res.status, 422, `reference "${reference}"`);
    t.match(await res.json(), { errors: [{ pointer: '#/reference', code }] });
  }
  t.equal((await move('\\ud83e\\udd84')).status, 201, 'a surrogate pair (🦄) is fine');
  const encoded = await s.request('/inventory/items?search=%ED%A0%80');
  t.equal(encoded.status, 200, 'a percent-encoded surrogate decodes to U+FFFD, which is storable');
  const nulQuery = await s.request('/inventory/items?search=a%00b');
  t.equal(nulQuery.status, 422);
  t.match(await nulQuery.json(), {
    errors: [{ pointer: '#/query/search', code: 'nul_character' }],
  });
  const nulPath = await s.request('/inventory/items/a%00b');
  t.equal(nulPath.status, 422);
  t.match(await nulPath.json(), { errors: [{ pointer: '#/path/id', code: 'nul_character' }] });
  const [{ n }] = await s.sql`SELECT count(*)::int AS n FROM stock_moves`;
  t.equal(n, 1, 'only the valid move was posted');
});

t.test('/metrics: behind METRICS_TOKEN when set, and rate limited per IP', async (t) => {
  const s = await startServer(t, { env: { METRICS_TOKEN: 'scrape-secret', RATE_LIMIT_MAX: '4' } });
  const scrape = (authorization?: string) =>
    s.request('/metrics', { token: null, headers: authorization ? { authorization } : {} });
  const none = await scrape();
  t.equal(none.status, 401, 'no token');
  t.match(none.headers.get('content-type'), PROBLEM);
  t.equal((await scrape('Bearer wrong')).status, 401, 'another token');
  t.equal((await scrape('bearer scrape-secret')).status, 200, 'the scheme in any case');
  const ok = await scrape('Bearer scrape-secret');
  t.equal(ok.status, 200, 'the metrics token');
  t.match(await ok.text(), /http_request_duration_seconds/);
  t.equal((await scrape('Bearer scrape-secret')).status, 429, "the IP's quota of 4 is used up");

  const open = await startServer(t, { env: { RATE_LIMIT_MAX: '1' } });
  t.equal((await open.request('/metrics', { token: null })).status, 200, 'no METRICS_TOKEN: open');
  t.equal((await open.request('/metrics', { token: null })).status, 429, 'but rate limited');
});

t.test('the checks behind them, as functions', async (t) => {
  t.test('nesting is counted outside strings only', async (t) => {
    t.notOk(nestedDeeperThan('["[[[[", "\\"[[[["]', 2), 'brackets in strings, escaped quotes');
    t.ok(nestedDeeperThan('[[["]"]]]', 2), 'a bracket in a string does not close anything');
    t.notOk(nestedDeeperThan('{"a":[{"b":[]}]}', 4));
    t.ok(nestedDeeperThan('{"a":[{"b":[]}]}', 3));
  });
  t.test('the first unstorable text in document order, keys before their values', async (t) => {
    t.match(findUnstorable({ a: { b: 'x\u0000' }, 'c\u0000': 1 }, '#'), {
      pointer: '#/a/b',
      code: 'nul_character',
    });
    t.match(findUnstorable({ 'k\ud800': 'v\u0000' }, '#'), {
      pointer: '#/k\ud800',
      code: 'lone_surrogate',
    });
    t.match(findUnstorable(['ok', ['a', 'b\udc00'], 'c\u0000'], '#/lines'), {
      pointer: '#/lines/1/1',
      code: 'lone_surrogate',
    });
    t.match(
      findUnstorable({ 'a/b~c': '\u0000' }, '#'),
      { pointer: '#/a~1b~0c' },
      'RFC 6901 escapes',
    );
    t.equal(findUnstorable({ a: ['🦄', { b: 'fine' }], n: 1, z: null }, '#'), null);
  });
});

t.test(
  'the published contract names its server without letting a Host header poison a cache',
  async (t) => {
    const get = (url: string, path: string, host: string) =>
      new Promise<{ headers: Record<string, unknown>; body: { servers: { url: string }[] } }>(
        (resolve, reject) => {
          const { hostname, port } = new URL(url);
          const req = request({ hostname, port, path, headers: { host } }, (res) => {
            let text = '';
            res.on('data', (c) => (text += c));
            res.on('end', () => resolve({ headers: res.headers, body: JSON.parse(text) }));
          });
          req.on('error', reject);
          req.end();
        },
      );
    const s = await startServer(t);
    const made = await get(s.url, '/openapi.json', 'evil.example');
    t.equal(
      made.body.servers[0].url,
      'http://evil.example',
      'without PUBLIC_URL: the Host it came to',
    );
    t.equal(made.headers['cache-control'], 'private, no-cache', 'an answer for this client only');
    t.match(made.headers.vary, /Host/);
    const page = await get(s.url, '/docs/json', 'evil.example');
    t.equal(page.headers['cache-control'], 'private, no-cache', "the page's document too");

    const pinned = await startServer(t, { env: { PUBLIC_URL: 'https://api.example.com/' } });
    const fixed = await get(pinned.url, '/openapi.json', 'evil.example');
    t.same(
      fixed.body.servers.map((x) => x.url),
      ['https://api.example.com'],
      'PUBLIC_URL, whatever the Host',
    );
    t.equal(
      (await get(pinned.url, '/docs/json', 'evil.example')).body.servers[0].url,
      'https://api.example.com',
    );
  },
);
