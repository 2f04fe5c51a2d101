// Item search is answered from an in-memory index (db/item-index.ts) kept fresh by notifications.
// It must answer exactly what the SQL path answers, page the same way, see this instance's own
// writes at once, and other instances' writes as soon as their notification arrives.
import t from 'tap';
import { listItems } from '../db/items.ts';
import type { Principal } from '../domain/access.ts';
import { itemHandlers, STOCK_CHECK_BUDGET } from '../handlers/items.ts';
import { startServer, type TestServer } from './helpers/server.ts';
import { waitFor } from './helpers/wait.ts';

const WORDS = ['Hex bolt', 'Wing nut', 'Washer', 'Épée clamp', 'Cable tie', 'BOLT cutter'];

/** Until this instance's own item writes are indexed (searches read them by key until then). */
async function indexCaughtUp(s: TestServer) {
  await waitFor(
    'the index to catch up',
    async () => (await s.app.itemIndex.unindexed(s.sql)) === undefined,
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
      const fromIndex = s.app.itemIndex.search({ search, active, limit: 100 }).map((e) => e.id);
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
      // events_after moves on as the setup's events take their feed positions: the rest is compared.
      for (let i = 0; i < 3; i++)
        texts.push(
          (await (await s.request('/inventory/items?search=zebra')).text()).replace(
            /"events_after":"[^"]*"/,
            '"events_after":""',
          ),
        );
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
    const found = () => s.app.itemIndex.search({ search: 'quokka', limit: 10 }).map((e) => e.id);
    const hits = await waitFor('the notification', () => found().length > 0 && found());
    t.strictSame(hits, ['item-99'], 'the first instance indexed an item the second created');
  });
});

t.test(
  'a search within a warehouse answers what SQL answers, without running its pattern over the items',
  async (t) => {
    // Thousands of items, all in stock at WH-A: on the SQL path a pattern no trigram narrows down
    // (here a long run of `_%`, literal after escaping) is tried on every one of them, whatever plan
    // the planner picks. docs/decisions/0010-in-memory-item-search-index.md
    const s = await startServer(t);
    const N = 5000;
    // Ids compared as a database whose default collation is en_US orders them (compose.yaml's;
    // the tests' cluster is C.UTF-8), where case and punctuation weigh less than in C.
    await s.sql`ALTER TABLE items ALTER COLUMN id TYPE text COLLATE "en-US-x-icu"`;
    await s.sql`INSERT INTO warehouses (id, name) VALUES ('WH-A', 'A'), ('WH-B', 'B'), ('WH-C', 'C')`;
    await s.sql`
    INSERT INTO items (id, sku, name, uom, track_by, active)
    SELECT 'itm-' || lpad(n::text, 5, '0'), 'SKU-' || n, (ARRAY['Hex bolt', 'Wing nut', 'Washer_%'])[1 + n % 3] || ' M' || n,
           'EA', 'NONE', n % 7 <> 0
    FROM generate_series(1, ${N}) AS n`;
    // WH-A holds everything; WH-B a few items near the end of the id order, one of them used up.
    await s.sql`INSERT INTO stock_levels (item_id, warehouse_id, on_hand) SELECT id, 'WH-A', 5 FROM items`;
    await s.sql`
    INSERT INTO stock_levels (item_id, warehouse_id, on_hand)
    SELECT id, 'WH-B', CASE WHEN id = 'itm-04990' THEN 0 ELSE 2 END FROM items WHERE id >= 'itm-04980'`;
    // Mixed-case and punctuated ids, in stock at WH-B: C and en_US order them differently.
    const mixed = ['ITM.a', 'Itm-Z1', 'iTm-9', 'itm-0500a', 'itm:c', 'itm_b', 'itm-04985.x'];
    await s.sql`
    INSERT INTO items (id, sku, name, uom, track_by)
    SELECT id, 'MIX-' || n, 'Hex bolt mixed ' || n, 'EA', 'NONE' FROM unnest(${mixed}::text[]) WITH ORDINALITY AS m(id, n)`;
    await s.sql`INSERT INTO stock_levels (item_id, warehouse_id, on_hand) SELECT unnest(${mixed}::text[]), 'WH-B', 1`;
    // WH-D has a stock row for every item but holds (on hand above zero) only three, all past the
    // first STOCK_CHECK_BUDGET items in id order: a search for a term every item matches checks a
    // budget of them per request.
    await s.sql`INSERT INTO warehouses (id, name) VALUES ('WH-D', 'D')`;
    await s.sql`
    INSERT INTO stock_levels (item_id, warehouse_id, on_hand)
    SELECT id, 'WH-D', CASE WHEN id IN ('itm-04500', 'itm-04999', 'itm_b') THEN 3 ELSE 0 END FROM items`;
    await s.sql`ANALYZE items`;
    await s.sql`ANALYZE stock_levels`;
    await s.app.itemIndex.load(); // rows inserted by SQL send no notifications
    await indexCaughtUp(s);

    const longPattern = '_%'.repeat(50);
    const api = s.client();

    t.test('paging through the API gives what the SQL path gives', async (t) => {
      const cases: [string, string, boolean | undefined][] = [
        ['bolt', 'WH-A', undefined],
        ['washer_%', 'WH-A', false],
        ['m49', 'WH-B', undefined],
        ['m49', 'WH-B', true],
        ['nut', 'WH-B', undefined],
        ['bolt', 'WH-B', undefined],
        ['mixed', 'WH-B', undefined],
        ['m', 'WH-D', undefined],
        ['bolt', 'WH-D', true],
        ['bolt', 'WH-C', undefined],
        [longPattern, 'WH-A', undefined],
        ['_', 'WH-B', undefined],
        ['%', 'WH-B', undefined],
      ];
      for (const [search, warehouse, active] of cases) {
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await api.GET('/inventory/items', {
            params: { query: { search, warehouse, active, limit: 7, cursor } },
          });
          seen.push(...page.data!.data.map((i) => i.id));
          cursor = page.data!.page.next_cursor;
        } while (cursor && ++pages < 30);
        const expected = (
          await listItems(s.sql, { search, warehouse, active, limit: 7 * 30 - 1 })
        ).map((r) => r.id);
        t.strictSame(
          seen,
          expected,
          `search=${search.slice(0, 12)} warehouse=${warehouse} active=${active}`,
        );
      }
    });

    t.test('a list without a search reads a page of items by an index in that order', async (t) => {
      // ORDER BY id COLLATE "C" cannot use the primary key's index (the default collation's): without
      // items_id_c every page would read and sort every item.
      const stats = (tx: typeof s.sql) => tx<{ seq_scan: number; read: number }[]>`
      SELECT seq_scan::int, (seq_tup_read + coalesce(idx_tup_fetch, 0))::int AS read
      FROM pg_stat_xact_user_tables WHERE relname = 'items'`;
      await s.sql.begin(async (tx) => {
        const db = tx as unknown as typeof s.sql;
        const [before] = await stats(db);
        const rows = await listItems(db, { after: ['itm-02000'], limit: 10 });
        const [after] = await stats(db);
        t.strictSame(
          rows.map((r) => r.id),
          Array.from({ length: 11 }, (_, i) => `itm-0${2001 + i}`),
        );
        t.equal(after.seq_scan - before.seq_scan, 0, 'no seq scan of items');
        t.ok(after.read - before.read <= 11, `${after.read - before.read} item rows read`);
      });
    });

    const principal: Principal = {
      sub: 'test',
      clientId: 'test',
      scopes: new Set(['inventory:read']),
      warehouses: null,
    };
    // The handler on one transaction of the test's own, with the server's pager.
    // pg_stat_xact_user_tables counts what this session did and has not reported yet (the server's
    // sessions report theirs only later), which may include earlier transactions: so the difference
    // across the handler's statements.
    type Read = { relname: string; seq_scan: number; read: number };
    const tableReads = async (tx: typeof s.sql) => {
      const rows = await tx<Read[]>`
      SELECT relname, seq_scan::int, (seq_tup_read + coalesce(idx_tup_fetch, 0))::int AS read
      FROM pg_stat_xact_user_tables WHERE relname IN ('items', 'stock_levels')`;
      const of = (name: string) =>
        rows.find((r) => r.relname === name) ?? { relname: name, seq_scan: 0, read: 0 };
      return { items: of('items'), stock: of('stock_levels') };
    };
    const handlerPage = (query: {
      search: string;
      warehouse: string;
      limit: number;
      cursor?: string;
    }) =>
      s.sql.begin(async (tx) => {
        const db = tx as unknown as typeof s.sql;
        const request = s.app.pager.request('listItems', query);
        const context = {
          db,
          query,
          principal,
          page: {
            ...request,
            result: (
              rows: unknown[],
              keyOf: (row: unknown) => unknown[],
              resumeAfter?: unknown[],
            ) => s.app.pager.page('listItems', query, request, rows, keyOf, resumeAfter),
          },
          itemIndex: s.app.itemIndex,
          feed: s.app.pager.feed,
        } as unknown as Parameters<typeof itemHandlers.listItems>[0];
        const before = await tableReads(db);
        const { body } = await itemHandlers.listItems(context);
        const after = await tableReads(db);
        const diff = (k: 'items' | 'stock') => ({
          seqScans: after[k].seq_scan - before[k].seq_scan,
          read: after[k].read - before[k].read,
        });
        return {
          page: body as unknown as {
            data: { id: string }[];
            page: { has_more: boolean; next_cursor?: string };
          },
          items: diff('items'),
          stock: diff('stock'),
        };
      });

    t.test('the items table is not scanned, stock is read a bounded number of rows', async (t) => {
      for (const [search, warehouse, found] of [
        [longPattern, 'WH-A', 0],
        ['_%_%_%_%_%', 'WH-B', 0],
        ['bolt', 'WH-A', 10],
        ['m49', 'WH-B', 10],
        // Every item matches, WH-D holds none of the first STOCK_CHECK_BUDGET: an empty page.
        ['m', 'WH-D', 0],
      ] as const) {
        const what = `search=${search.slice(0, 12)} warehouse=${warehouse}`;
        const r = await handlerPage({ search, warehouse, limit: 10 });
        t.equal(r.page.data.length, found, `${what}: found`);
        t.equal(r.items.seqScans, 0, `${what}: no seq scan of items`);
        t.ok(r.items.read <= 11, `${what}: ${r.items.read} item rows read`);
        t.equal(r.stock.seqScans, 0, `${what}: no seq scan of stock_levels`);
        t.ok(
          r.stock.read <= STOCK_CHECK_BUDGET,
          `${what}: ${r.stock.read} stock rows read, at most ${STOCK_CHECK_BUDGET}`,
        );
      }
    });

    t.test(
      'a warehouse holding few of many matches is paged through, a bounded budget of stock per request',
      async (t) => {
        const query = { search: 'm', warehouse: 'WH-D', limit: 2 };
        const pages: { ids: string[]; hasMore: boolean; stockRead: number }[] = [];
        let cursor: string | undefined;
        do {
          const r = await handlerPage({ ...query, cursor });
          t.equal(r.items.read + r.items.seqScans, 0, 'no item rows read');
          t.equal(r.stock.seqScans, 0, 'no seq scan of stock_levels');
          pages.push({
            ids: r.page.data.map((i) => i.id),
            hasMore: r.page.page.has_more,
            stockRead: r.stock.read,
          });
          cursor = r.page.page.next_cursor;
        } while (cursor && pages.length < 10);
        for (const [i, p] of pages.entries())
          t.ok(
            p.stockRead <= STOCK_CHECK_BUDGET,
            `page ${i + 1}: ${p.stockRead} stock rows read, at most ${STOCK_CHECK_BUDGET}`,
          );
        t.strictSame(
          pages[0],
          { ids: [], hasMore: true, stockRead: pages[0].stockRead },
          'the first page is empty, with more to come',
        );
        t.strictSame(
          pages.flatMap((p) => p.ids),
          (await listItems(s.sql, { ...query, limit: 100 })).map((r) => r.id),
          'every match in stock once, in order, as SQL answers',
        );
        t.strictSame(
          pages.flatMap((p) => p.ids),
          ['itm-04500', 'itm-04999', 'itm_b'],
        );
      },
    );

    t.test(
      "this instance's item writes not indexed yet are read by key, never by a pattern over the items",
      async (t) => {
        // As if this instance had just committed a rename and a create whose notifications have
        // not arrived: the index still has the old name, and not the new item.
        const [renamed] = await s.sql<{ version: number }[]>`
        UPDATE items SET name = 'Quux widget', version = version + 1 WHERE id = 'itm-00010' RETURNING version`;
        await s.sql`INSERT INTO items (id, sku, name, uom, track_by) VALUES ('itm-00010a', 'SKU-Q1', 'Quux gadget', 'EA', 'NONE')`;
        await s.sql`INSERT INTO stock_levels (item_id, warehouse_id, on_hand) VALUES ('itm-00010a', 'WH-A', 1)`;
        s.app.itemIndex.expect('itm-00010', renamed.version);
        s.app.itemIndex.expect('itm-00010a', 1);
        t.teardown(() => s.app.itemIndex.refresh(['itm-00010', 'itm-00010a']));
        for (const [search, warehouse] of [
          ['quux', 'WH-A'],
          ['wing nut m10', 'WH-A'],
          ['wing nut m1', 'WH-A'],
          ['_%_%_%', 'WH-A'],
        ] as const) {
          const what = `search=${search} warehouse=${warehouse}`;
          const r = await handlerPage({ search, warehouse, limit: 10 });
          t.strictSame(
            r.page.data.map((i) => i.id),
            (await listItems(s.sql, { search, warehouse, limit: 9 })).map((i) => i.id),
            `${what}: what SQL answers`,
          );
          t.equal(r.items.seqScans, 0, `${what}: no seq scan of items`);
          t.ok(r.items.read <= 2, `${what}: ${r.items.read} item rows read (the two not indexed)`);
        }
        const all = await handlerPage({ search: 'quux', warehouse: 'WH-A', limit: 10 });
        t.strictSame(
          all.page.data.map((i) => i.id),
          ['itm-00010', 'itm-00010a'],
          'the rename and the new item are found at once',
        );
      },
    );
  },
);
