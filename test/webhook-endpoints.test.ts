// The endpoints API: create (secret shown once), list, get (ETag/304), delete (If-Match), rotate
// (If-Match), scopes, and the URL rules (https in production, no private targets unless allowed).
import t from 'tap';
import { startServer } from './helpers/server.ts';

const EVENTS = ['inventory.stock_move.posted', 'inventory.receipt.posted'] as const;

t.test('create, list, get, rotate, delete', async (t) => {
  const s = await startServer(t);
  const api = s.client();

  const created = await api.POST('/webhooks/endpoints', {
    body: { url: 'https://erp.example.com/hooks', events: [...EVENTS], description: 'ERP' },
  });
  t.equal(created.response.status, 201, JSON.stringify(created.error));
  const endpoint = created.data!;
  t.match(endpoint.id, /^whk_/);
  t.match(endpoint.secret, /^whsec_[A-Za-z0-9+/=]{32,}$/);
  t.equal(created.response.headers.get('location'), `/webhooks/endpoints/${endpoint.id}`);
  t.equal(created.response.headers.get('etag'), '"v1"');
  t.same(
    {
      url: endpoint.url,
      events: endpoint.events,
      active: endpoint.active,
      description: endpoint.description,
    },
    { url: 'https://erp.example.com/hooks', events: [...EVENTS], active: true, description: 'ERP' },
  );

  const got = await api.GET('/webhooks/endpoints/{id}', { params: { path: { id: endpoint.id } } });
  t.equal(got.response.status, 200);
  t.notOk('secret' in got.data!, 'the secret is never shown again');
  const notModified = await s.request(`/webhooks/endpoints/${endpoint.id}`, {
    headers: { 'if-none-match': '"v1"' },
  });
  t.equal(notModified.status, 304);

  await api.POST('/webhooks/endpoints', {
    body: { url: 'https://other.example.com/', events: ['inventory.receipt.posted'] },
  });
  const list = await api.GET('/webhooks/endpoints', { params: { query: { limit: 1 } } });
  t.equal(list.data!.data.length, 1);
  t.equal(list.data!.data[0].id, endpoint.id, 'in creation order');
  t.notOk('secret' in list.data!.data[0]);
  const next = await api.GET('/webhooks/endpoints', {
    params: { query: { limit: 1, cursor: list.data!.page.next_cursor } },
  });
  t.equal(next.data!.data.length, 1);
  t.not(next.data!.data[0].id, endpoint.id);
  t.equal(next.data!.page.has_more, false);

  const noIfMatch = await s.request(`/webhooks/endpoints/${endpoint.id}/rotate-secret`, {
    method: 'POST',
  });
  t.equal(noIfMatch.status, 428);
  const stale = await s.request(`/webhooks/endpoints/${endpoint.id}/rotate-secret`, {
    method: 'POST',
    headers: { 'if-match': '"v9"' },
  });
  t.equal(stale.status, 412);
  const rotated = await api.POST('/webhooks/endpoints/{id}/rotate-secret', {
    params: { path: { id: endpoint.id }, header: { 'If-Match': '"v1"' } },
  });
  t.equal(rotated.response.status, 200, JSON.stringify(rotated.error));
  t.not(rotated.data!.secret, endpoint.secret, 'a new secret');
  t.equal(rotated.response.headers.get('etag'), '"v2"');
  const graceEnds = Date.parse(rotated.data!.previous_secret_expires_at!) - Date.now();
  t.ok(
    graceEnds > 23.9 * 3600e3 && graceEnds <= 24 * 3600e3,
    'the old secret signs for 24 more hours',
  );

  const staleDelete = await s.request(`/webhooks/endpoints/${endpoint.id}`, {
    method: 'DELETE',
    headers: { 'if-match': '"v1"' },
  });
  t.equal(staleDelete.status, 412, 'an If-Match sent with DELETE must match');
  const deleted = await s.request(`/webhooks/endpoints/${endpoint.id}`, { method: 'DELETE' });
  t.equal(deleted.status, 204);
  t.equal((await s.request(`/webhooks/endpoints/${endpoint.id}`)).status, 404);

  const audit =
    await s.sql`SELECT action, after FROM audit_log WHERE entity = 'webhook_endpoint' AND entity_id = ${endpoint.id} ORDER BY id`;
  t.same(
    audit.map((a) => a.action),
    ['webhook_endpoint.created', 'webhook_endpoint.secret_rotated', 'webhook_endpoint.deleted'],
  );
  t.notOk(JSON.stringify(audit).includes('whsec_'), 'secrets never reach the audit log');
});

t.test('webhooks:manage is required', async (t) => {
  const s = await startServer(t);
  const res = await s.request('/webhooks/endpoints', {
    token: { scope: 'inventory:read inventory:write' },
  });
  t.equal(res.status, 403);
  const deliveries = await s.request('/webhooks/deliveries', {
    token: { scope: 'inventory:read' },
  });
  t.equal(deliveries.status, 403);
});

t.test('private targets are refused at creation unless WEBHOOK_ALLOW_PRIVATE=1', async (t) => {
  const s = await startServer(t, { env: { WEBHOOK_ALLOW_PRIVATE: '0' } });
  for (const url of [
    'http://127.0.0.1:8080/x',
    'http://localhost/x',
    'http://[::1]/x',
    'http://[::ffff:127.0.0.1]/x',
    'http://10.0.0.5/x',
    'http://192.168.1.10/x',
    'http://169.254.169.254/latest/meta-data',
    'http://100.64.1.1/x',
    'http://[fd00::1]/x',
    'http://[fe80::1]/x',
    'http://0.0.0.0/x',
  ]) {
    const res = await s.request('/webhooks/endpoints', {
      method: 'POST',
      json: { url, events: ['inventory.stock_move.posted'] },
    });
    const body = await res.json();
    t.equal(res.status, 422, url);
    t.same(
      body.errors?.map((e: { pointer: string; code: string }) => [e.pointer, e.code]),
      [['#/url', 'forbidden_address']],
      url,
    );
  }
  const ok = await s.request('/webhooks/endpoints', {
    method: 'POST',
    json: { url: 'http://8.8.8.8/hooks', events: ['inventory.stock_move.posted'] },
  });
  t.equal(ok.status, 201, 'a public address is fine (http outside production)');
  t.equal(
    (await s.sql`SELECT count(*)::int AS n FROM webhook_endpoints`)[0].n,
    1,
    'nothing refused was stored',
  );
});

t.test(
  'IPv6 transition forms carrying loopback or private addresses, and credentials, are refused at creation',
  async (t) => {
    const s = await startServer(t, { env: { WEBHOOK_ALLOW_PRIVATE: '0' } });
    const codes = async (url: string) => {
      const res = await s.request('/webhooks/endpoints', {
        method: 'POST',
        json: { url, events: ['inventory.stock_move.posted'] },
      });
      const body = await res.json();
      t.equal(res.status, 422, url);
      t.equal(body.type, 'https://problems.inventory-api.dev/validation-error', url);
      return body.errors?.map((e: { pointer: string; code: string }) => [e.pointer, e.code]);
    };
    for (const url of [
      'http://[2002:7f00:1::]/x', // 6to4
      'http://[::ffff:7f00:1]/x', // IPv4-mapped
      'http://[::ffff:0:7f00:1]/x', // IPv4-translated
      'http://[64:ff9b::7f00:1]/x', // NAT64
      'http://[64:ff9b:1::a9fe:a9fe]/x', // local-use NAT64, 169.254.169.254
      'http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/x', // Teredo, client 127.0.0.1
    ])
      t.same(await codes(url), [['#/url', 'forbidden_address']], url);
    for (const url of ['http://user:secret@8.8.8.8/hooks', 'http://token@8.8.8.8/hooks'])
      t.same(await codes(url), [['#/url', 'invalid_url']], url);
    const ok = await s.request('/webhooks/endpoints', {
      method: 'POST',
      json: { url: 'http://[2002:808:808::]/hooks', events: ['inventory.stock_move.posted'] },
    });
    t.equal(ok.status, 201, 'a 6to4 address carrying a public IPv4 address is fine');
    t.equal(
      (await s.sql`SELECT count(*)::int AS n FROM webhook_endpoints`)[0].n,
      1,
      'nothing refused was stored',
    );
  },
);

t.test('https is required in production', async (t) => {
  const s = await startServer(t, { env: { NODE_ENV: 'production' } });
  const res = await s.request('/webhooks/endpoints', {
    method: 'POST',
    json: { url: 'http://8.8.8.8/hooks', events: ['inventory.stock_move.posted'] },
  });
  t.equal(res.status, 422);
  t.same(
    (await res.json()).errors.map((e: { pointer: string; code: string }) => [e.pointer, e.code]),
    [['#/url', 'https_required']],
  );
});
