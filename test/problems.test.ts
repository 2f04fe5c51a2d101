// docs/standards.md §1-2: every error from every layer is problem+json with type, title, status, detail,
// instance and request_id; every response carries X-Request-Id.
import t from 'tap';
import { freshDatabase } from './helpers/db.ts';
import { proxyTo } from './helpers/proxy.ts';
import { startServer } from './helpers/server.ts';

const PROBLEM = /^application\/problem\+json/;

t.test('errors from every layer are problem+json', async (t) => {
  const s = await startServer(t, {
    beforeListen: (app) => {
      app.get('/test-only/boom', async () => {
        throw new Error(
          'duplicate key value violates unique constraint "secret_table_pkey" at SELECT * FROM secrets',
        );
      });
    },
  });

  t.test('unknown route → 404', async (t) => {
    const res = await s.request('/nope?x=1');
    t.equal(res.status, 404);
    t.match(res.headers.get('content-type'), PROBLEM);
    const body = await res.json();
    t.match(body, {
      type: 'https://problems.inventory-api.dev/not-found',
      title: 'Resource not found',
      status: 404,
      instance: '/nope',
    });
    t.equal(body.request_id, res.headers.get('x-request-id'));
  });

  t.test('known path, wrong method → 405 with Allow', async (t) => {
    const res = await s.request('/inventory/items/sku-1', { method: 'DELETE' });
    t.equal(res.status, 405);
    t.equal(res.headers.get('allow'), 'GET, PUT');
    t.match(await res.json(), {
      type: 'https://problems.inventory-api.dev/method-not-allowed',
      status: 405,
    });
  });

  t.test('malformed JSON → 400', async (t) => {
    const res = await s.request('/inventory/warehouses', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"id": "WH-A",',
    });
    t.equal(res.status, 400);
    t.match(res.headers.get('content-type'), PROBLEM);
    t.match(await res.json(), {
      type: 'https://problems.inventory-api.dev/malformed-request',
      status: 400,
    });
  });

  t.test('wrong content type → 400', async (t) => {
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/problem+json',
    ]) {
      const res = await s.request('/inventory/warehouses', {
        method: 'POST',
        headers: { 'content-type': type },
        body: 'id=WH-A',
      });
      t.equal(res.status, 400, type);
      t.match(
        await res.json(),
        { type: 'https://problems.inventory-api.dev/malformed-request' },
        type,
      );
    }
  });

  t.test('body over 1 MiB → 413', async (t) => {
    const res = await s.request('/inventory/warehouses', {
      method: 'POST',
      json: { id: 'WH-A', name: 'x'.repeat(1024 * 1024 + 10) },
    });
    t.equal(res.status, 413);
    t.match(await res.json(), {
      type: 'https://problems.inventory-api.dev/payload-too-large',
      status: 413,
    });
  });

  t.test('schema violations → 422 with a JSON pointer per problem', async (t) => {
    const res = await s.request('/inventory/items', {
      method: 'POST',
      json: { sku: '', name: 'Bolt', uom: 'EA', track_by: 'WEIGHT', colour: 'red' },
    });
    t.equal(res.status, 422);
    const body = await res.json();
    t.match(body, {
      type: 'https://problems.inventory-api.dev/validation-error',
      title: 'Your request is not valid',
      status: 422,
    });
    const pointers = [...new Set(body.errors.map((e: { pointer: string }) => e.pointer))].sort();
    t.strictSame(pointers, ['#/colour', '#/sku', '#/track_by'].sort());
    t.match(
      body.errors.find((e: any) => e.pointer === '#/colour'),
      { code: 'additionalProperties', detail: 'is not a known field' },
    );
    t.match(
      body.errors.find((e: any) => e.pointer === '#/track_by'),
      { code: 'enum' },
    );
  });

  t.test('a missing required field points at where it belongs', async (t) => {
    const res = await s.request('/inventory/warehouses', { method: 'POST', json: { id: 'WH-A' } });
    t.equal(res.status, 422);
    t.match((await res.json()).errors, [
      { pointer: '#/name', code: 'required', detail: 'is required' },
    ]);
  });

  t.test('a required body that was not sent → 422 (an empty JSON body is no body)', async (t) => {
    for (const init of [{}, { headers: { 'content-type': 'application/json' }, body: '' }]) {
      const res = await s.request('/inventory/warehouses', { method: 'POST', ...init });
      t.equal(res.status, 422);
      t.match((await res.json()).errors, [{ pointer: '#', code: 'required' }]);
    }
  });

  t.test('JSON that tries prototype pollution → 400', async (t) => {
    const res = await s.request('/inventory/warehouses', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"id":"WH-P","name":"x","__proto__":{"admin":true}}',
    });
    t.equal(res.status, 400);
  });

  t.test('query parameters are validated too', async (t) => {
    const res = await s.request('/inventory/items?active=perhaps');
    t.equal(res.status, 422);
    t.match((await res.json()).errors, [{ pointer: '#/query/active', code: 'type' }]);
  });

  t.test('a NUL character in any text → 422 pointing at it, and nothing is written', async (t) => {
    const move = {
      type: 'RECEIPT',
      to_wh: 'WH-NUL',
      reference: 'PO-1',
      lines: [
        { item_id: 'NUL-1', qty: 1 },
        { item_id: 'NUL-1', qty: 1, batch: 'B\u00001' },
      ],
    };
    const res = await s.request('/inventory/stock-moves', {
      method: 'POST',
      json: move,
      headers: { 'idempotency-key': 'nul-1' },
    });
    t.equal(res.status, 422);
    t.match((await res.json()).errors, [
      {
        pointer: '#/lines/1/batch',
        code: 'nul_character',
        detail: 'must not contain the NUL character (U+0000)',
      },
    ]);
    const warehouse = await s.request('/inventory/warehouses', {
      method: 'POST',
      json: { id: 'WH-NUL', name: 'Dock\u0000' },
    });
    t.match((await warehouse.json()).errors, [{ pointer: '#/name', code: 'nul_character' }]);
    t.equal((await s.request('/inventory/warehouses/WH-NUL')).status, 404);
    const query = await s.request('/inventory/items?search=a%00b');
    t.equal(query.status, 422);
    t.match((await query.json()).errors, [{ pointer: '#/query/search', code: 'nul_character' }]);
  });

  t.test('an unexpected failure → 500 that leaks nothing', async (t) => {
    const res = await s.request('/test-only/boom');
    t.equal(res.status, 500);
    const text = await res.text();
    t.notMatch(text, /secret|duplicate key|SELECT|at /);
    const body = JSON.parse(text);
    t.match(body, { type: 'https://problems.inventory-api.dev/internal-error', status: 500 });
    t.match(body.detail, body.request_id, 'the detail quotes the request id to report');
  });

  t.test('the database going away → 503, and /readyz says so', async (t) => {
    const down = await startServer(t);
    t.equal((await down.request('/readyz', { token: null })).status, 200);
    await down.serverSql.end();
    const ready = await down.request('/readyz', { token: null });
    t.equal(ready.status, 503);
    t.match(await ready.json(), {
      type: 'https://problems.inventory-api.dev/service-unavailable',
      status: 503,
    });
    const write = await down.request('/inventory/warehouses', {
      method: 'POST',
      json: { id: 'WH-Z', name: 'Zed' },
    });
    t.equal(write.status, 503, 'a write while the database is away is a clean 503');
    t.match(await write.json(), { type: 'https://problems.inventory-api.dev/service-unavailable' });
  });
});

t.test('the database cut off at shutdown: the server still closes', async (t) => {
  const { url } = await freshDatabase(t);
  // The item index's UNLISTEN, sent as the server closes, is cut off: its connection drops, as when
  // the database goes away at that moment.
  let cut = false;
  const proxy = await proxyTo(t, url, (chunk, client) => {
    if (!chunk.includes('unlisten "items"')) return true;
    cut = true;
    client.destroy();
    return false;
  });
  const s = await startServer(t, { databaseUrl: url, listenUrl: proxy.url });
  t.equal((await s.request('/readyz', { token: null })).status, 200);
  await t.resolves(s.app.close(), 'closing does not fail for a LISTEN session that is gone');
  t.ok(cut, 'the UNLISTEN was sent, and cut off');
});

t.test('X-Request-Id: kept when well-formed, minted otherwise, on every response', async (t) => {
  const s = await startServer(t, { env: { RATE_LIMIT_MAX: '2' } });
  const kept = await s.request('/healthz', { headers: { 'x-request-id': 'req-123:abc/DEF=' } });
  t.equal(kept.headers.get('x-request-id'), 'req-123:abc/DEF=');
  const replaced = await s.request('/healthz', {
    headers: { 'x-request-id': 'has spaces <script>' },
  });
  t.match(replaced.headers.get('x-request-id'), /^[0-9a-f-]{36}$/);
  const limited = await s.request('/healthz', { headers: { 'x-request-id': 'over-the-limit' } });
  t.equal(limited.status, 429);
  t.equal(limited.headers.get('x-request-id'), 'over-the-limit', 'a 429 carries it too');
  t.equal((await limited.json()).request_id, 'over-the-limit');
});
