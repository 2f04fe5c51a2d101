// docs/standards.md §6: `updated_since` and `order` on every list of documents and master data.
// A sync walk (updated_since, oldest change first) must never miss a row changed before the walk
// began, however rows change while it pages; `order` reverses a list's usual order; cursors stay
// bound to both.
import t from 'tap';
import type { Sql } from '../db/client.ts';
import type { ApiClient } from '../generated/client.ts';
import { createPo, ik, ok, receive, seedCatalogue, sentPo } from './helpers/procurement.ts';
import { posted, reserve } from './helpers/stock.ts';
import { startServer, type TestServer } from './helpers/server.ts';

type Row = { id: string; updated_at: string; created_at?: string };
type Body = { data: Row[]; page: { has_more: boolean; next_cursor?: string } };

interface List {
  path: string;
  table: string;
  /** Makes `n` rows of this list, returning their ids. */
  make(api: ApiClient, n: number): Promise<string[]>;
  /** The list's usual order without `order`: by id, or newest first. */
  usual: 'id' | 'newest';
}

const N = 7;
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

const lists: List[] = [
  {
    path: '/inventory/items',
    table: 'items',
    usual: 'id',
    async make(api, n) {
      const ids = range(n).map((i) => `sync-item-${i}`);
      for (const id of ids)
        ok(
          await api.POST('/inventory/items', {
            body: { id, sku: id.toUpperCase(), name: `Item ${id}`, uom: 'EA', track_by: 'NONE' },
          }),
        );
      return ids;
    },
  },
  {
    path: '/inventory/warehouses',
    table: 'warehouses',
    usual: 'id',
    async make(api, n) {
      const ids = range(n).map((i) => `SYNC-${i}`);
      for (const id of ids)
        ok(await api.POST('/inventory/warehouses', { body: { id, name: `Warehouse ${id}` } }));
      return ids;
    },
  },
  {
    path: '/procurement/vendors',
    table: 'vendors',
    usual: 'id',
    async make(api, n) {
      const ids = range(n).map((i) => `ven_sync_${i}`);
      for (const id of ids)
        ok(await api.POST('/procurement/vendors', { body: { id, name: id, currency: 'EUR' } }));
      return ids;
    },
  },
  {
    path: '/procurement/requisitions',
    table: 'requisitions',
    usual: 'newest',
    async make(api, n) {
      const ids: string[] = [];
      for (const _ of range(n))
        ids.push(
          ok(
            await api.POST('/procurement/requisitions', {
              params: { header: ik() },
              body: { lines: [{ item_id: 'bolt', qty: 5, warehouse_id: 'WH-A' }] },
            }),
          ).id,
        );
      return ids;
    },
  },
  {
    path: '/procurement/purchase-orders',
    table: 'purchase_orders',
    usual: 'newest',
    async make(api, n) {
      const ids: string[] = [];
      for (const _ of range(n))
        ids.push((await createPo(api, { ship_to_warehouse_id: 'WH-A' })).id);
      return ids;
    },
  },
  {
    path: '/procurement/receipts',
    table: 'receipts',
    usual: 'newest',
    async make(api, n) {
      const po = await sentPo(api, {
        ship_to_warehouse_id: 'WH-A',
        lines: [{ item_id: 'bolt', qty: 100, unit_price: '0.50' }],
      });
      const ids: string[] = [];
      for (const _ of range(n))
        ids.push((await receive(api, po, [{ po_line_id: po.lines[0].id, qty_received: 1 }])).id);
      return ids;
    },
  },
  {
    path: '/procurement/invoices',
    table: 'invoices',
    usual: 'newest',
    async make(api, n) {
      const po = await sentPo(api, {
        ship_to_warehouse_id: 'WH-A',
        lines: [{ item_id: 'bolt', qty: 100, unit_price: '0.50' }],
      });
      const ids: string[] = [];
      for (const i of range(n))
        ids.push(
          ok(
            await api.POST('/procurement/invoices', {
              params: { header: ik() },
              body: {
                po_id: po.id,
                number: `INV-SYNC-${i}`,
                lines: [{ po_line_id: po.lines[0].id, qty: 1, unit_price: '0.50' }],
              },
            }),
          ).id,
        );
      return ids;
    },
  },
  {
    path: '/inventory/reservations',
    table: 'reservations',
    usual: 'newest',
    async make(api, n) {
      await posted(api, { type: 'RECEIPT', to_wh: 'WH-B', lines: [{ item_id: 'bolt', qty: 100 }] });
      const ids: string[] = [];
      for (const _ of range(n))
        ids.push(ok(await reserve(api, { item_id: 'bolt', warehouse_id: 'WH-B', qty: 1 })).id);
      return ids;
    },
  },
];

async function get(s: TestServer, path: string, query: Record<string, string | undefined>) {
  const q = new URLSearchParams(
    Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined),
  );
  return s.request(`${path}?${q}`);
}

async function page(s: TestServer, path: string, query: Record<string, string | undefined>) {
  const res = await get(s, path, query);
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Body;
}

/** Every row of a walk, page by page, running `between` at the same time as each page's request. */
async function walk(
  s: TestServer,
  path: string,
  query: Record<string, string | undefined>,
  between: (pageNo: number) => Promise<unknown> = async () => {},
): Promise<{ rows: Row[]; pages: number }> {
  const rows: Row[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const [body] = await Promise.all([page(s, path, { ...query, cursor }), between(pages)]);
    rows.push(...body.data);
    cursor = body.page.next_cursor;
    pages++;
  } while (cursor);
  return { rows, pages };
}

const touch = (sql: Sql, table: string, id: string) =>
  sql`UPDATE ${sql(table)} SET updated_at = clock_timestamp() WHERE id = ${id}`;

const key = (r: Row) => `${r.updated_at} ${r.id}`;
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

t.test('updated_since and order on every list', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  await seedCatalogue(api);

  for (const list of lists) {
    t.test(list.path, async (t) => {
      const ids = await list.make(api, N);
      // Each row's own instant: rows of other lists, made before, have earlier ones.
      const rows = await s.sql<{ id: string; updated_at: string }[]>`
        SELECT id, updated_at FROM ${s.sql(list.table)} WHERE id = ANY(${ids}) ORDER BY updated_at, id`;
      const since = rows[0].updated_at;
      const ours = (r: Row) => ids.includes(r.id);

      t.test('asc: every row changed before the walk, while rows change under it', async (t) => {
        const touched: string[] = [];
        // Changes ahead of the cursor and behind it, each sent with a page's request.
        const between = async (p: number) => {
          const id = ids[(p * 3) % N];
          touched.push(id);
          await touch(s.sql, list.table, id);
        };
        const { rows: seen, pages } = await walk(
          s,
          list.path,
          { updated_since: since, limit: '2' },
          between,
        );
        t.ok(pages >= 2, `${pages} pages`);
        const mine = seen.filter(ours);
        t.strictSame([...new Set(mine.map((r) => r.id))].sort(), [...ids].sort(), 'no row missed');
        const keys = seen.map(key);
        t.strictSame(keys, [...keys].sort(cmp), 'in (updated_at, id) order');
        t.equal(new Set(keys).size, keys.length, 'no row twice in one state');
        for (const r of seen) t.ok(r.updated_at >= since, 'inclusive lower bound only');
        t.ok(
          mine.length >= N,
          `${mine.length - N} rows seen again after they changed (${touched.length} changes)`,
        );
      });

      t.test('desc: newest change first; rows left alone are each seen once', async (t) => {
        const touched = new Set<string>();
        const { rows: seen, pages } = await walk(
          s,
          list.path,
          { updated_since: since, order: 'desc', limit: '2' },
          async (p) => {
            if (p !== 1) return;
            touched.add(ids[0]);
            await touch(s.sql, list.table, ids[0]);
          },
        );
        t.ok(pages >= 2, `${pages} pages`);
        const keys = seen.map(key);
        t.strictSame(keys, [...keys].sort(cmp).reverse(), 'in (updated_at, id) order, reversed');
        const still = seen.filter((r) => ours(r) && !touched.has(r.id)).map((r) => r.id);
        t.strictSame(
          still.sort(),
          ids.filter((id) => !touched.has(id)).sort(),
          'every untouched row once',
        );
      });

      t.test('order without updated_since reverses the usual order', async (t) => {
        const usual = (await walk(s, list.path, { limit: '3' })).rows.map((r) => r.id);
        const reversed = (await walk(s, list.path, { limit: '3', order: 'desc' })).rows;
        const asc = (await walk(s, list.path, { limit: '3', order: 'asc' })).rows;
        if (list.usual === 'id') {
          t.strictSame(
            reversed.map((r) => r.id),
            [...usual].reverse(),
          );
          t.strictSame(
            asc.map((r) => r.id),
            usual,
          );
        } else {
          t.strictSame(
            asc.map((r) => r.id),
            [...usual].reverse(),
          );
          t.strictSame(
            reversed.map((r) => r.id),
            usual,
          );
        }
      });

      t.test('bad input → 422 naming the parameter', async (t) => {
        for (const [query, pointer] of [
          [{ updated_since: 'yesterday' }, '#/query/updated_since'],
          [{ updated_since: '2026-13-01T00:00:00Z' }, '#/query/updated_since'],
          // RFC 3339 has a year 0000; PostgreSQL's calendar has none.
          [{ updated_since: '0000-01-01T00:00:00Z' }, '#/query/updated_since'],
          [{ order: 'sideways' }, '#/query/order'],
        ] as const) {
          const res = await get(s, list.path, query);
          t.equal(res.status, 422, JSON.stringify(query));
          const problem = await res.json();
          t.equal(problem.type, 'https://problems.inventory-api.dev/validation-error');
          t.ok(
            problem.errors.some((e: { pointer: string }) => e.pointer === pointer),
            pointer,
          );
        }
      });

      t.test('a cursor is bound to updated_since and order', async (t) => {
        const first = await page(s, list.path, { updated_since: since, limit: '2' });
        const cursor = first.page.next_cursor;
        t.ok(cursor);
        for (const query of [
          { updated_since: since, order: 'desc' },
          { updated_since: '2000-01-01T00:00:00Z' },
          { order: 'asc' },
          {},
        ]) {
          const res = await get(s, list.path, { ...query, cursor, limit: '2' });
          t.equal(res.status, 422, JSON.stringify(query));
          t.equal((await res.json()).type, 'https://problems.inventory-api.dev/invalid-cursor');
        }
        const same = await get(s, list.path, { updated_since: since, cursor, limit: '2' });
        t.equal(same.status, 200, 'the same filters continue');
        await same.body?.cancel();
      });
    });
  }
});

t.test('writes keep updated_at: an item replaced comes again in a sync walk', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  await seedCatalogue(api);
  const start = (await page(s, '/inventory/items', { updated_since: '2000-01-01T00:00:00Z' })).data;
  const last = start[start.length - 1].updated_at;
  const bolt = ok(await api.GET('/inventory/items/{id}', { params: { path: { id: 'bolt' } } }));
  const replaced = ok(
    await api.PUT('/inventory/items/{id}', {
      params: { path: { id: 'bolt' }, header: { 'If-Match': bolt.etag } },
      body: { sku: bolt.sku, name: 'Hex bolt M8, zinc', uom: 'EA', track_by: 'NONE', active: true },
    }),
  );
  t.ok(replaced.updated_at > bolt.updated_at);
  const since = await page(s, '/inventory/items', { updated_since: last });
  t.ok(
    since.data.some((i) => i.id === 'bolt' && i.updated_at === replaced.updated_at),
    'the change is found from the last instant held',
  );
});

t.test('items: search takes neither updated_since nor order=desc', async (t) => {
  const s = await startServer(t);
  await seedCatalogue(s.client());
  for (const [query, pointer] of [
    [{ search: 'bolt', updated_since: '2026-01-01T00:00:00Z' }, '#/query/updated_since'],
    [{ search: 'bolt', order: 'desc' }, '#/query/order'],
    [{ search: 'bolt', warehouse: 'WH-A', order: 'desc' }, '#/query/order'],
  ] as const) {
    const res = await get(s, '/inventory/items', query);
    t.equal(res.status, 422, JSON.stringify(query));
    const problem = await res.json();
    t.match(problem, {
      type: 'https://problems.inventory-api.dev/validation-error',
      errors: [{ pointer, code: 'not_allowed' }],
    });
  }
  const asc = await page(s, '/inventory/items', { search: 'e', order: 'asc' });
  t.strictSame(
    asc.data.map((i) => i.id),
    ['bolt', 'drill', 'glue'],
    'order=asc is the search order',
  );
  const stocked = await page(s, '/inventory/items', {
    warehouse: 'WH-A',
    updated_since: '2000-01-01T00:00:00Z',
  });
  t.strictSame(stocked.data, [], 'warehouse (without search) combines with updated_since');
});

t.test('a restricted token syncs only what it sees', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  await seedCatalogue(api);
  const a = await createPo(api, { ship_to_warehouse_id: 'WH-A' });
  await createPo(api, { ship_to_warehouse_id: 'WH-B' });
  await createPo(api);
  const res = await s.request('/procurement/purchase-orders?updated_since=2000-01-01T00:00:00Z', {
    token: { warehouses: ['WH-A'] },
  });
  t.equal(res.status, 200);
  t.strictSame(
    ((await res.json()) as Body).data.map((p) => p.id),
    [a.id],
  );
  const whs = await s.request('/inventory/warehouses?updated_since=2000-01-01T00:00:00Z', {
    token: { warehouses: ['WH-B'] },
  });
  t.strictSame(
    ((await whs.json()) as Body).data.map((w) => w.id),
    ['WH-B'],
  );
});
