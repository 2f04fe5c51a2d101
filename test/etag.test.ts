// docs/standards.md §5: strong ETags; If-None-Match → 304; PUT requires If-Match (428), a stale or weak
// tag is 412 with the current ETag; two writers with the same ETag: exactly one wins.
import t from 'tap';
import { startServer } from './helpers/server.ts';

const ITEM = { sku: 'SKU-1', name: 'Bolt', uom: 'EA', track_by: 'NONE' as const, active: true };

t.test('ETags on items', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  const created = await api.POST('/inventory/items', { body: { id: 'sku-1', ...ITEM } });
  const etag = created.response.headers.get('etag')!;
  t.equal(etag, '"v1"');
  t.equal(created.data?.etag, etag, 'the body carries the same tag');

  t.test('If-None-Match with the current tag → 304', async (t) => {
    const res = await s.request('/inventory/items/sku-1', { headers: { 'if-none-match': etag } });
    t.equal(res.status, 304);
    t.equal(res.headers.get('etag'), etag);
    t.equal(await res.text(), '');
    t.equal(
      (await s.request('/inventory/items/sku-1', { headers: { 'if-none-match': '"v0"' } })).status,
      200,
    );
  });

  t.test('PUT without If-Match → 428', async (t) => {
    const res = await s.request('/inventory/items/sku-1', { method: 'PUT', json: ITEM });
    t.equal(res.status, 428);
    t.match(await res.json(), { type: 'https://problems.inventory-api.dev/precondition-required' });
  });

  t.test('a stale or weak tag → 412 with the current ETag', async (t) => {
    for (const tag of ['"v7"', `W/${etag}`, 'v1']) {
      const res = await s.request('/inventory/items/sku-1', {
        method: 'PUT',
        json: ITEM,
        headers: { 'if-match': tag },
      });
      t.equal(res.status, 412, tag);
      t.equal(res.headers.get('etag'), etag);
      t.match(await res.json(), {
        type: 'https://problems.inventory-api.dev/precondition-failed',
        current_etag: etag,
      });
    }
  });

  t.test('a bad body with a stale tag → 422: preconditions come after validation', async (t) => {
    const res = await s.request('/inventory/items/sku-1', {
      method: 'PUT',
      json: { ...ITEM, uom: '' },
      headers: { 'if-match': '"v9"' },
    });
    t.equal(res.status, 422);
  });

  t.test('two writers with the same ETag: exactly one 200, one 412', async (t) => {
    const [a, b] = await Promise.all(
      ['Bolt A', 'Bolt B'].map((name) =>
        api.PUT('/inventory/items/{id}', {
          params: { path: { id: 'sku-1' }, header: { 'If-Match': etag } },
          body: { ...ITEM, name },
        }),
      ),
    );
    t.strictSame([a.response.status, b.response.status].sort(), [200, 412]);
    const winner = a.response.status === 200 ? a : b;
    t.equal(winner.response.headers.get('etag'), '"v2"');
    const now = await api.GET('/inventory/items/{id}', { params: { path: { id: 'sku-1' } } });
    t.equal(now.data?.name, winner.data?.name, 'the loser changed nothing');
  });
});
