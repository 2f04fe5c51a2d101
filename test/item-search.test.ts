// Item search is answered from an in-memory index (db/item-index.ts) kept fresh by notifications.
// It must answer exactly what the SQL path answers, page the same way, see this instance's own
// writes at once, and other instances' writes as soon as their notification arrives.
import t from 'tap';
import { listItems } from '../db/items.ts';
import { startServer, type TestServer } from './helpers/server.ts';
import { waitFor } from './helpers/wait.ts';

const WORDS = ['Hex bolt', 'Wing nut', 'Washer', 'Épée clamp', 'Cable tie', 'BOLT cutter'];

/** Until the index answers (it defers to SQL while this instance's own writes are not indexed yet). */
async function indexCaughtUp(s: TestServer) {
  await waitFor(
    'the index to catch up',
    () => s.app.itemIndex.search({ search: 'x', limit: 1 }) !== null,
  );
}

t.test('the index answers what SQL answers', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  for (let i = 0; i < 24; i++) {
    await api.POST('/inventory/items', {
      body: {
        id: `item-${String(i).padStart(2, '0')}`,
        sku: `SKU-${1000 + i}`,
        name: `${WORDS[i % WORDS.length]} M${i}`,
        uom: 'EA',
        track_by: 'NONE',
        active: i % 5 !== 0,
      },
    });
  }
  await indexCaughtUp(s);
  for (const search of [
    'bolt',
    'BOLT',
    'sku-10',
    '-101',
    'épée',
    'm1',
    'x',
    'no such thing',
    'ut',
    'SKU-1007 wing nut m7',
  ]) {
    for (const active of [undefined, true, false]) {
      const fromIndex = s.app.itemIndex
        .search({ search, active, limit: 100 })!
        .map((e) => e.row.id);
      const fromSql = (await listItems(s.sql, { search, active, limit: 100 })).map((r) => r.id);
      t.strictSame(fromIndex, fromSql, `search=${search} active=${active}`);
    }
  }

  t.test('paging through the API (index path) covers every match once, in order', async (t) => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await api.GET('/inventory/items', {
        params: { query: { search: 'o', limit: 4, cursor } },
      });
      seen.push(...page.data!.data.map((i) => i.id));
      cursor = page.data!.page.next_cursor;
    } while (cursor);
    t.strictSame(
      seen,
      (await listItems(s.sql, { search: 'o', limit: 100 })).map((r) => r.id),
    );
  });

  t.test("this instance's own writes are visible at once", async (t) => {
    const renamed = await api.PUT('/inventory/items/{id}', {
      params: { path: { id: 'item-03' }, header: { 'If-Match': '"v1"' } },
      body: { sku: 'SKU-1003', name: 'Zebra hinge', uom: 'EA', track_by: 'NONE', active: true },
    });
    t.equal(renamed.response.status, 200);
    const found = await api.GET('/inventory/items', { params: { query: { search: 'zebra' } } });
    t.strictSame(
      found.data!.data.map((i) => i.name),
      ['Zebra hinge'],
    );
    const gone = await api.GET('/inventory/items', { params: { query: { search: 'washer m3' } } });
    t.strictSame(gone.data!.data, [], 'the old name no longer matches');
  });

  t.test(
    'a search page presents each item as GET /inventory/items/{id} does, the same however often served',
    async (t) => {
      // Index entries keep their item's JSON once a search made it (db/item-index.ts); a change must replace it.
      await indexCaughtUp(s);
      const texts: string[] = [];
      for (let i = 0; i < 3; i++)
        texts.push(await (await s.request('/inventory/items?search=zebra')).text());
      t.equal(new Set(texts).size, 1, 'the same text each time');
      const [found] = JSON.parse(texts[0]).data;
      t.strictSame(
        found,
        (await api.GET('/inventory/items/{id}', { params: { path: { id: 'item-03' } } })).data,
      );
      t.equal(found.etag, '"v2"', 'the version the update made');
      const again = await api.PUT('/inventory/items/{id}', {
        params: { path: { id: 'item-03' }, header: { 'If-Match': '"v2"' } },
        body: {
          sku: 'SKU-1003',
          name: 'Zebra hinge long',
          uom: 'EA',
          track_by: 'NONE',
          active: true,
        },
      });
      t.equal(again.response.status, 200);
      await indexCaughtUp(s);
      const [changed] = (
        await api.GET('/inventory/items', { params: { query: { search: 'zebra' } } })
      ).data!.data;
      t.match(
        changed,
        { name: 'Zebra hinge long', etag: '"v3"' },
        'a changed item is presented anew',
      );
    },
  );

  t.test("another instance's writes arrive with their notification", async (t) => {
    const other = await startServer(t, { databaseUrl: s.databaseUrl });
    await indexCaughtUp(other);
    await other.client().POST('/inventory/items', {
      body: { id: 'item-99', sku: 'SKU-9999', name: 'Quokka valve', uom: 'EA', track_by: 'NONE' },
    });
    const found = () =>
      (s.app.itemIndex.search({ search: 'quokka', limit: 10 }) ?? []).map((e) => e.row.id);
    const hits = await waitFor('the notification', () => found().length > 0 && found());
    t.strictSame(hits, ['item-99'], 'the first instance indexed an item the second created');
  });
});
