// The change feed (docs/events.md): GET /events in commit order, page.events_after on lists,
// retention and 410 cursor-expired, visibility, and the Idempotency-Key lifetime that goes with it.
import t from 'tap';
import { newEvent, insertEvents } from '../db/outbox.ts';
import { pruneFeed } from '../db/feed.ts';
import { loadConfig } from '../server/config.ts';
import { operations, spec } from '../server/spec.ts';
import { posted, startStockServer } from './helpers/stock.ts';
import { startServer } from './helpers/server.ts';
import type { TestServer } from './helpers/server.ts';
import type { TokenOptions } from './helpers/auth.ts';
import { eventsDispatched, waitFor } from './helpers/wait.ts';

interface FeedEvent {
  id: string;
  type: string;
  warehouse_ids: string[];
  data: { id?: string; on_hand?: number };
}
interface FeedPage {
  data: FeedEvent[];
  page: { limit: number; has_more: boolean; next_cursor: string };
}

async function feed(s: TestServer, query: Record<string, string> = {}, token?: TokenOptions) {
  const res = await s.request(`/events?${new URLSearchParams(query)}`, { token });
  if (res.status !== 200) throw new Error(`GET /events: ${res.status} ${await res.text()}`);
  return (await res.json()) as FeedPage;
}

/** Reads the feed from `after` to its end, a small page at a time; returns the events and the cursor to go on from. */
async function drain(s: TestServer, after: string | undefined, token?: TokenOptions) {
  const events: FeedEvent[] = [];
  let cursor = after;
  for (;;) {
    const page = await feed(s, { limit: '3', ...(cursor && { after: cursor }) }, token);
    events.push(...page.data);
    if (!page.page.next_cursor) throw new Error('a feed page without next_cursor');
    cursor = page.page.next_cursor;
    if (!page.page.has_more) return { events, cursor };
  }
}

/** Waits until every event committed so far has its position in the feed. */
const sequenced = (s: TestServer) => eventsDispatched(s.sql);

const receipt = (to_wh: string, qty = 1) => ({
  type: 'RECEIPT' as const,
  to_wh,
  lines: [{ item_id: 'sku-1', qty }],
});

t.test(
  'a transaction that took its seq early and commits late is not skipped by a reader paging meanwhile: it comes after the events committed before it',
  async (t) => {
    const { s, api } = await startStockServer(t, ['WH-A'], { 'sku-1': 'NONE' });
    await sequenced(s);
    const before = await drain(s, undefined);

    // The slow transaction takes its outbox seq first, then stays open.
    const slow = await s.sql.reserve();
    t.teardown(() => slow.release());
    await slow`BEGIN`;
    const slowEvent = newEvent(
      'inventory.stock_move.posted',
      { ...(await posted(api, receipt('WH-A'))), id: 'sm_slow' },
      ['WH-A'],
    );
    await insertEvents(slow as never, [slowEvent]);

    const fast = [];
    for (let i = 0; i < 5; i++) fast.push(await posted(api, receipt('WH-A')));
    const fastIds = new Set(fast.map((m) => m.id));

    // A reader pages while the slow transaction is still open, until it has every fast event.
    const seen: FeedEvent[] = [];
    let cursor = before.cursor;
    await waitFor('the fast moves in the feed', async () => {
      const page = await drain(s, cursor);
      seen.push(...page.events);
      cursor = page.cursor;
      return [...fastIds].every((id) => seen.some((e) => e.data.id === id));
    });
    t.notOk(
      seen.some((e) => e.id === slowEvent.id),
      'an uncommitted event is not in the feed',
    );
    const [{ slow_seq, min_fast_seq }] = await s.sql`
      SELECT (SELECT seq FROM outbox WHERE id = ${slowEvent.id}) AS slow_seq,
             (SELECT min(seq) FROM outbox WHERE payload->'data'->>'id' = ANY(${[...fastIds]})) AS min_fast_seq`;
    t.equal(slow_seq, null, 'the slow event is invisible to other sessions');
    const [{ seq }] = await slow`SELECT seq FROM outbox WHERE id = ${slowEvent.id}`;
    t.ok(
      BigInt(seq) < BigInt(min_fast_seq),
      'its seq is smaller than every fast one: paging by seq would pass it by',
    );

    await slow`COMMIT`;
    await waitFor('the slow event in the feed', async () => {
      const page = await drain(s, cursor);
      seen.push(...page.events);
      cursor = page.cursor;
      return seen.some((e) => e.id === slowEvent.id);
    });

    const ids = seen.map((e) => e.id);
    t.equal(new Set(ids).size, ids.length, 'no event twice');
    const slowAt = ids.indexOf(slowEvent.id);
    for (const id of fastIds) {
      t.ok(
        seen.findIndex((e) => e.data.id === id) < slowAt,
        'the slow event comes after every event committed before it',
      );
    }
    const all = await drain(s, undefined);
    t.same(
      all.events.map((e) => e.id),
      [...before.events.map((e) => e.id), ...ids],
      'read again from the start, the feed has the same events in the same order',
    );
  },
);

t.test(
  'page.events_after of a list: following the feed from it gives every change the list does not show',
  async (t) => {
    const { s, api } = await startStockServer(t, ['WH-A'], { 'sku-1': 'NONE' });
    const first = await posted(api, receipt('WH-A', 2));
    await sequenced(s);
    // The position a list answers is one this instance knows committed; it learns of new ones
    // as the fan-out commits them, so it catches up with the first move's.
    const list = await waitFor('a list whose events_after is past the first move', async () => {
      const body = await (await s.request('/inventory/stock-levels')).json();
      const moves = (await drain(s, body.page.events_after)).events;
      return !moves.some((e) => e.data.id === first.id) && body;
    });
    t.equal(list.data[0].on_hand, 2, 'the list shows the first move');
    t.type(list.page.events_after, 'string', 'every list answer has page.events_after');
    const second = await posted(api, receipt('WH-A', 3));
    await waitFor('the second move sequenced', async () =>
      (await drain(s, undefined)).events.some((e) => e.data.id === second.id),
    );
    const after = await drain(s, list.page.events_after);
    t.same(
      after.events.filter((e) => e.type === 'inventory.stock_move.posted').map((e) => e.data.id),
      [second.id],
      'following the feed from it gives the change the list did not show',
    );
    t.same(
      after.events
        .filter((e) => e.type === 'inventory.stock_level.changed')
        .map((e) => e.data.on_hand),
      [5],
      'and the level as that change left it',
    );

    for (const path of ['/inventory/items', '/inventory/stock-moves', '/webhooks/endpoints']) {
      const body = await (await s.request(path)).json();
      t.type(body.page.events_after, 'string', `${path} carries events_after`);
    }
  },
);

t.test('the feed ends with a cursor to resume from, and goes on from there', async (t) => {
  const { s, api } = await startStockServer(t, ['WH-A'], { 'sku-1': 'NONE' });
  await sequenced(s);
  const start = await drain(s, undefined);
  const empty = await feed(s, { after: start.cursor });
  t.same(empty.data, [], 'nothing new yet');
  t.equal(empty.page.has_more, false);
  t.ok(empty.page.next_cursor, 'the end of the feed still has a cursor');
  const move = await posted(api, receipt('WH-A'));
  const next = await waitFor('the move after the end', async () => {
    const page = await feed(s, { after: empty.page.next_cursor });
    return page.data.length > 0 && page;
  });
  t.ok(next.data.some((e) => e.type === 'inventory.stock_move.posted' && e.data.id === move.id));
});

t.test('a token sees the events it may see, by type too', async (t) => {
  const { s, api } = await startStockServer(t, ['WH-A', 'WH-B'], { 'sku-1': 'NONE' });
  const a = await posted(api, receipt('WH-A'));
  const b = await posted(api, receipt('WH-B'));
  await waitFor('both moves sequenced', async () => {
    const ids = (await drain(s, undefined)).events.map((e) => e.data.id);
    return ids.includes(a.id) && ids.includes(b.id);
  });
  const restricted = { warehouses: ['WH-A'] };
  const seen = (await drain(s, undefined, restricted)).events;
  t.ok(
    seen.some((e) => e.data.id === a.id),
    'its own warehouse',
  );
  t.notOk(
    seen.some((e) => e.data.id === b.id),
    'never another warehouse',
  );
  const created = (type: string) => seen.filter((e) => e.type === type).map((e) => e.data.id);
  t.same(created('inventory.item.created'), ['sku-1'], 'items are everyone’s');
  t.same(
    created('inventory.warehouse.created'),
    ['WH-A'],
    'its own warehouse’s creation, not WH-B’s (which it may not read)',
  );

  const all = await drain(s, undefined);
  const ofB = all.events.find((e) => e.data.id === b.id);
  t.ok(ofB);
  t.equal(
    (await s.request(`/events/${ofB?.id}`, { token: restricted })).status,
    404,
    "another warehouse's event by id: 404",
  );
  t.equal((await s.request(`/events/${ofB?.id}`)).status, 200, 'an unrestricted token gets it');
  t.equal((await s.request('/events/evt_nope')).status, 404);

  const typed = await drain(s, undefined);
  const moves = await feed(s, { types: 'inventory.stock_move.posted', limit: '200' });
  t.ok(moves.data.length >= 2);
  t.ok(
    moves.data.every((e) => e.type === 'inventory.stock_move.posted'),
    'only the types asked for',
  );
  t.ok(typed.events.length >= moves.data.length);
  for (const types of ['inventory.stock_move.postd', 'webhook.test']) {
    const res = await s.request(`/events?types=inventory.item.created,${types}`);
    t.equal(res.status, 422, `types=${types}`);
    t.match(await res.json(), {
      errors: [{ pointer: '#/query/types', code: 'unknown_event_type' }],
    });
  }
});

t.test(
  'cursors: forged ones are 422, expired ones 410, no cursor starts at the oldest kept',
  async (t) => {
    const { s, api } = await startStockServer(t, ['WH-A'], { 'sku-1': 'NONE' });
    for (let i = 0; i < 4; i++) await posted(api, receipt('WH-A'));
    const { events } = await waitFor('the moves sequenced', async () => {
      const read = await drain(s, undefined);
      return (
        read.events.filter((e) => e.type === 'inventory.stock_move.posted').length === 4 && read
      );
    });
    const startCursor = (await feed(s, { limit: '1' })).page.next_cursor;

    for (const after of ['nope', `${startCursor}x`, 'eyJlIjoiMSJ9.AAAA']) {
      const res = await s.request(`/events?after=${encodeURIComponent(after)}`);
      t.equal(res.status, 422, `after=${after.slice(0, 12)}...`);
      t.match(await res.json(), { type: /invalid-cursor$/ });
    }
    const listCursor = (await (await s.request('/inventory/stock-moves?limit=1')).json()).page
      .next_cursor;
    t.equal(
      (await s.request(`/events?after=${listCursor}`)).status,
      422,
      "a list's cursor is not a feed cursor",
    );

    // The first two events age past retention and are pruned.
    const old = events.slice(0, 2).map((e) => e.id);
    await s.sql`UPDATE outbox SET created_at = now() - interval '40 days' WHERE id = ANY(${old})`;
    t.equal(await pruneFeed(s.sql, 30), 2, 'two events pruned');
    t.equal(await pruneFeed(s.sql, 30), 0, 'and no more');
    const res = await s.request(`/events?after=${startCursor}`);
    t.equal(res.status, 410, 'a cursor from before the pruned events');
    t.match(await res.json(), { type: /cursor-expired$/, status: 410 });
    const fresh = await drain(s, undefined);
    t.same(
      fresh.events.map((e) => e.id),
      events.slice(2).map((e) => e.id),
      'without a cursor the feed starts at the oldest event kept',
    );
    const [{ expired_through }] = await s.sql`SELECT expired_through::int FROM feed_state`;
    t.equal(expired_through, 2);

    // What a dispatcher that knows nothing of positions (an older version) would do fails loudly.
    await s.sql`INSERT INTO outbox (id, type, payload) VALUES ('evt_old', 'inventory.item.created', '{}')`;
    await t.rejects(
      s.sql`UPDATE outbox SET dispatched_at = now() WHERE id = 'evt_old' AND position IS NULL`,
      { constraint_name: 'outbox_dispatched_in_feed' } as never,
      'an event marked dispatched without a position',
    );
  },
);

t.test('Idempotency-Keys are kept IDEMPOTENCY_TTL_H hours, 96 by default', async (t) => {
  for (const [env, hours] of [
    [{}, 96],
    [{ IDEMPOTENCY_TTL_H: '2' }, 2],
  ] as const) {
    const { s, api } = await startStockServer(t, ['WH-A'], { 'sku-1': 'NONE' }, { env });
    await posted(api, receipt('WH-A'));
    await s.request('/inventory/warehouses', {
      method: 'POST',
      json: { id: 'WH-K', name: 'Keyed' },
      headers: { 'idempotency-key': 'k-1' },
    });
    const rows = await s.sql`
      SELECT operation, extract(epoch FROM expires_at - created_at)::int AS s FROM idempotency_keys`;
    t.ok(rows.length >= 2, 'a group-commit posting and a plain keyed write');
    for (const row of rows) t.equal(row.s, hours * 3600, `${row.operation}: ${hours} h`);
  }
  t.throws(
    () => loadConfig({ EVENT_RETENTION_DAYS: '2' }),
    /EVENT_RETENTION_DAYS must be/,
    'a retention shorter than the webhook retries is refused at start',
  );
});

t.test('every list of the spec answers a Page, so every one carries events_after', async (t) => {
  const lists = [...operations.values()].filter((op) => op.paginated);
  t.ok(lists.length >= 15, `${lists.length} lists`);
  for (const op of lists) {
    const schema =
      spec.paths[op.path][op.method.toLowerCase()].responses['200'].content['application/json']
        .schema;
    const body = schema.$ref ? spec.components.schemas[schema.$ref.split('/').pop()] : schema;
    t.equal(body.properties.page.$ref, '#/components/schemas/Page', op.operationId);
  }
  t.ok(spec.components.schemas.Page.required.includes('events_after'));
});

t.test(
  'a search answers, as events_after, what its in-memory index reflects: a change the index lacks comes after it',
  async (t) => {
    const { s: a } = await startStockServer(t, ['WH-A'], { 'sku-1': 'NONE' });
    const b = await startServer(t, { databaseUrl: a.databaseUrl });
    // Instance A's index refreshes stall (as a slow or failing refresh would), until released.
    let release = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const index = a.app.itemIndex;
    const refresh = index.refresh.bind(index);
    index.refresh = async (ids) => {
      await gate;
      return refresh(ids);
    };
    const item = await (await b.request('/inventory/items/sku-1')).json();
    const put = await b.request('/inventory/items/sku-1', {
      method: 'PUT',
      headers: { 'if-match': item.etag },
      json: {
        sku: 'SKU-1',
        name: 'Zebra crossing paint',
        uom: 'EA',
        track_by: 'NONE',
        active: true,
      },
    });
    t.equal(put.status, 200);
    const eventPosition = await waitFor('the update positioned, and known to A', async () => {
      const [row] =
        await a.sql`SELECT position::text FROM outbox WHERE type = 'inventory.item.updated'`;
      if (!row?.position) return false;
      const list = await (await a.request('/inventory/warehouses')).json();
      return (
        BigInt(a.app.pager.feed.position(list.page.events_after)) >= BigInt(row.position) &&
        (row.position as string)
      );
    });
    const search = await (await a.request('/inventory/items?search=item%20sku-1')).json();
    t.equal(search.data[0]?.name, 'Item sku-1', "A's index still has the old name");
    t.ok(
      BigInt(a.app.pager.feed.position(search.page.events_after)) < BigInt(eventPosition),
      'so its events_after comes before the change, which a follower therefore gets',
    );
    release();
    await waitFor('the index caught up', async () => {
      const body = await (await a.request('/inventory/items?search=zebra')).json();
      return (
        body.data.length === 1 &&
        BigInt(a.app.pager.feed.position(body.page.events_after)) >= BigInt(eventPosition)
      );
    });
  },
);
