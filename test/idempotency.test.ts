// docs/standards.md §4: a retried request with its Idempotency-Key executes once and replays the stored
// response; the same key with another body is 422; concurrent duplicates execute once.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { REPO_ROOT } from '../db/embedded.ts';
import { spec } from '../server/spec.ts';
import { startServer } from './helpers/server.ts';
import type { TokenOptions } from './helpers/auth.ts';

const warehouse = (id: string) => ({ id, name: `Warehouse ${id}` });

t.test('idempotency', async (t) => {
  const s = await startServer(t);
  const post = (key: string, json: unknown, token?: TokenOptions) =>
    s.request('/inventory/warehouses', {
      method: 'POST',
      json,
      token,
      headers: { 'idempotency-key': key },
    });

  t.test('a replay returns the stored response and executes nothing', async (t) => {
    const first = await post('key-1', warehouse('WH-1'));
    t.equal(first.status, 201);
    t.equal(first.headers.get('idempotent-replayed'), null);
    const again = await post('key-1', { name: 'Warehouse WH-1', id: 'WH-1' }); // same body, other key order
    t.equal(again.status, 201);
    t.equal(again.headers.get('idempotent-replayed'), 'true');
    t.equal(again.headers.get('location'), first.headers.get('location'));
    t.strictSame(await again.json(), await first.json());
    const [{ count }] =
      await s.sql`SELECT count(*)::int AS count FROM audit_log WHERE entity_id = 'WH-1'`;
    t.equal(count, 1, 'executed once: one audit entry');
  });

  t.test('the same key with another body → 422 idempotency-key-reused', async (t) => {
    await post('key-2', warehouse('WH-2'));
    const res = await post('key-2', warehouse('WH-2b'));
    t.equal(res.status, 422);
    t.match(await res.json(), {
      type: 'https://problems.inventory-api.dev/idempotency-key-reused',
    });
    t.equal((await s.sql`SELECT 1 FROM warehouses WHERE id = 'WH-2b'`).length, 0);
  });

  t.test('a quoted key is the same key', async (t) => {
    t.equal((await post('"key-3"', warehouse('WH-3'))).status, 201);
    const res = await post('key-3', warehouse('WH-3'));
    t.equal(res.headers.get('idempotent-replayed'), 'true');
  });

  t.test('keys are scoped per client', async (t) => {
    const a = await post('shared', warehouse('WH-4'), { client_id: 'client-a' });
    const b = await post('shared', warehouse('WH-5'), { client_id: 'client-b' });
    t.equal(a.status, 201);
    t.equal(b.status, 201);
    t.equal(b.headers.get('idempotent-replayed'), null);
  });

  t.test('a committed 409 is stored and replayed', async (t) => {
    await s.client().POST('/inventory/warehouses', { body: warehouse('WH-6') });
    const first = await post('key-6', warehouse('WH-6'));
    t.equal(first.status, 409);
    const again = await post('key-6', warehouse('WH-6'));
    t.equal(again.status, 409);
    t.equal(again.headers.get('idempotent-replayed'), 'true');
    t.match(again.headers.get('content-type'), /^application\/problem\+json/);
    t.match(await again.json(), { type: 'https://problems.inventory-api.dev/already-exists' });
  });

  t.test('a 403 is not stored: the retry with the right token executes', async (t) => {
    const denied = await post('key-7', warehouse('WH-7'), { warehouses: ['WH-1'] });
    t.equal(denied.status, 403);
    const retried = await post('key-7', warehouse('WH-7'));
    t.equal(retried.status, 201);
    t.equal(retried.headers.get('idempotent-replayed'), null);
  });

  t.test('concurrent duplicates execute once, and all get the same result', async (t) => {
    const results = await Promise.all(
      Array.from({ length: 12 }, () => post('key-8', warehouse('WH-8'))),
    );
    t.strictSame(
      results.map((r) => r.status),
      Array(12).fill(201),
    );
    t.equal(
      results.filter((r) => r.headers.get('idempotent-replayed') === 'true').length,
      11,
      'one executed, eleven replayed',
    );
    const [{ count }] =
      await s.sql`SELECT count(*)::int AS count FROM audit_log WHERE entity_id = 'WH-8'`;
    t.equal(count, 1);
  });

  t.test('operations that require a key refuse a request without one (400)', async (t) => {
    const res = await s.request('/inventory/stock-moves', {
      method: 'POST',
      json: { type: 'ISSUE', from_wh: 'WH-1', lines: [{ item_id: 'x', qty: 1 }] },
    });
    t.equal(res.status, 400);
    t.match(await res.json(), {
      type: 'https://problems.inventory-api.dev/idempotency-key-missing',
    });
  });

  t.test('a key longer than 255 characters → 422', async (t) => {
    const res = await post('k'.repeat(256), warehouse('WH-9'));
    t.equal(res.status, 422);
    t.match((await res.json()).errors, [{ pointer: '#/headers/idempotency-key' }]);
  });

  t.test('an expired key is reclaimed by a new request', async (t) => {
    await post('key-10', warehouse('WH-10'));
    await s.sql`UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = 'key-10'`;
    const res = await post('key-10', warehouse('WH-11'));
    t.equal(res.status, 201);
    t.equal(res.headers.get('idempotent-replayed'), null);
  });
});

t.test(
  'docs/standards.md §4 names exactly the operations whose Idempotency-Key the spec requires',
  async (t) => {
    const doc = readFileSync(path.join(REPO_ROOT, 'docs/standards.md'), 'utf8');
    const rule = doc.slice(doc.indexOf('is **required** on:'), doc.indexOf('It is **optional**'));
    const named = [...rule.matchAll(/`(\w+)`/g)].map((m) => m[1]).sort();
    const required: string[] = [];
    for (const item of Object.values<any>(spec.paths))
      for (const op of Object.values<any>(item)) {
        const params = (op?.parameters ?? []).map((p: any) =>
          p.$ref ? spec.components.parameters[p.$ref.split('/').pop()] : p,
        );
        if (params.some((p: any) => p.name.toLowerCase() === 'idempotency-key' && p.required))
          required.push(op.operationId);
      }
    t.same(named, required.sort());
  },
);
