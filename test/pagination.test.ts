// docs/standards.md §6: keyset pages, signed cursors bound to their filters, limit bounds, Link header.
import t from 'tap';
import { Pager } from '../server/plugins/pagination.ts';
import { startServer } from './helpers/server.ts';

t.test('pagination', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  const ids = Array.from({ length: 7 }, (_, i) => `item-${i}`);
  for (const id of ids)
    await api.POST('/inventory/items', {
      body: {
        id,
        sku: id.toUpperCase(),
        name: `Widget ${id}`,
        uom: 'EA',
        track_by: 'NONE',
        active: id !== 'item-3',
      },
    });

  t.test('pages cover every row exactly once, in order, with a Link to the next', async (t) => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await api.GET('/inventory/items', { params: { query: { limit: 3, cursor } } });
      pages++;
      seen.push(...res.data!.data.map((i) => i.id));
      cursor = res.data!.page.next_cursor;
      t.equal(res.data!.page.has_more, cursor !== undefined);
      const link = res.response.headers.get('link');
      if (cursor)
        t.equal(
          link,
          `</inventory/items?cursor=${encodeURIComponent(cursor)}&limit=3>; rel="next"`,
        );
      else t.equal(link, null, 'no Link on the last page');
    } while (cursor);
    t.equal(pages, 3);
    t.strictSame(seen, ids);
  });

  t.test('filters are kept across pages', async (t) => {
    const first = await api.GET('/inventory/items', {
      params: { query: { limit: 2, active: true } },
    });
    const second = await api.GET('/inventory/items', {
      params: { query: { limit: 10, active: true, cursor: first.data!.page.next_cursor } },
    });
    t.strictSame(
      [...first.data!.data, ...second.data!.data].map((i) => i.id),
      ids.filter((id) => id !== 'item-3'),
    );
  });

  t.test('a cursor used with other filters → 422 invalid-cursor', async (t) => {
    const first = await api.GET('/inventory/items', {
      params: { query: { limit: 2, active: true } },
    });
    const res = await api.GET('/inventory/items', {
      params: { query: { limit: 2, active: false, cursor: first.data!.page.next_cursor } },
    });
    t.equal(res.response.status, 422);
    t.match(res.error, { type: 'https://problems.inventory-api.dev/invalid-cursor' });
  });

  t.test('a tampered cursor → 422 invalid-cursor', async (t) => {
    const first = await api.GET('/inventory/items', { params: { query: { limit: 2 } } });
    const [payload, signature] = first.data!.page.next_cursor!.split('.');
    const forged = Buffer.from(
      JSON.stringify({
        ...JSON.parse(Buffer.from(payload, 'base64url').toString()),
        k: ['item-5'],
      }),
    ).toString('base64url');
    for (const cursor of [`${forged}.${signature}`, 'garbage', `${payload}.`]) {
      const res = await api.GET('/inventory/items', { params: { query: { cursor } } });
      t.equal(res.response.status, 422, cursor);
      t.match(res.error, { type: 'https://problems.inventory-api.dev/invalid-cursor' });
    }
  });

  t.test('a cursor from another list → 422', async (t) => {
    for (const id of ['WH-1', 'WH-2', 'WH-3'])
      await api.POST('/inventory/warehouses', { body: { id, name: id } });
    const warehouses = await api.GET('/inventory/warehouses', { params: { query: { limit: 1 } } });
    const res = await api.GET('/inventory/items', {
      params: { query: { cursor: warehouses.data!.page.next_cursor } },
    });
    t.equal(res.response.status, 422);
  });

  t.test('limit: default 50, above 200 reduced to 200, below 1 → 422', async (t) => {
    t.equal((await api.GET('/inventory/items')).data!.page.limit, 50);
    t.equal(
      (await api.GET('/inventory/items', { params: { query: { limit: 5000 } } })).data!.page.limit,
      200,
    );
    const zero = await api.GET('/inventory/items', { params: { query: { limit: 0 } } });
    t.equal(zero.response.status, 422);
    t.match(zero.error, { errors: [{ pointer: '#/query/limit', code: 'minimum' }] });
  });
});

t.test('a page cut short by a budget of work resumes after what was looked at', async (t) => {
  // A handler that stopped before filling the page (handlers/items.ts, a warehouse search) gives
  // the key it looked up to: the page has more, possibly with no rows, and the cursor resumes there.
  const pager = new Pager(Buffer.alloc(32, 7));
  const query = { search: 'bolt', warehouse: 'WH-A', limit: 2 };
  const request = pager.request('listItems', query);
  const keyOf = (row: { id: string }) => [row.id];
  const empty = pager.page('listItems', query, request, [], keyOf, ['itm-4096']);
  t.strictSame(empty.data, []);
  t.equal(empty.page.has_more, true, 'no rows, more to come');
  t.strictSame(
    pager.request('listItems', { ...query, cursor: empty.page.next_cursor }).after,
    ['itm-4096'],
    'the next page starts after the key looked up to',
  );
  const some = pager.page('listItems', query, request, [{ id: 'itm-7' }], keyOf, ['itm-4096']);
  t.strictSame([some.data.length, some.page.has_more], [1, true]);
  t.strictSame(pager.request('listItems', { ...query, cursor: some.page.next_cursor }).after, [
    'itm-4096',
  ]);
  const full = pager.page(
    'listItems',
    query,
    request,
    [{ id: 'a' }, { id: 'b' }, { id: 'c' }],
    keyOf,
    ['itm-4096'],
  );
  t.strictSame(
    pager.request('listItems', { ...query, cursor: full.page.next_cursor }).after,
    ['b'],
    'a full page resumes after its last row, as always',
  );
  const done = pager.page('listItems', query, request, [{ id: 'a' }], keyOf);
  t.equal(done.page.has_more, false);
  t.equal(done.page.next_cursor, undefined);
});

t.test('a feed cursor sealed once per position still opens to the position asked', async (t) => {
  const pager = new Pager(Buffer.alloc(32, 7));
  const first = pager.feed.cursor('41');
  t.equal(pager.feed.cursor('41'), first, 'the same position, the same cursor');
  const next = pager.feed.cursor('42');
  t.not(next, first);
  t.equal(pager.feed.position(next), '42');
  t.equal(pager.feed.position(pager.feed.cursor('41')), '41', 'and back');
  const other = new Pager(Buffer.alloc(32, 8));
  t.throws(
    () => other.feed.position(first),
    /not a feed cursor this server issued/,
    'signed, as before',
  );
});
