// Snapshot, then follow (docs/events.md), under load: 8 clients post moves, reservations and
// procurement documents at once while a reader follows GET /events, and one posting's
// transaction is held open after it took its outbox seq, until many later ones have committed.
// Every event of every committed change reaches the reader exactly once, in commit order, and the
// state rebuilt from the feed equals the state the lists show.
import t from 'tap';
import { randomUUID } from 'node:crypto';
import type { ApiClient } from '../generated/client.ts';
import { ik, ok } from './helpers/procurement.ts';
import { startStockServer } from './helpers/stock.ts';
import type { TestServer } from './helpers/server.ts';
import { waitFor } from './helpers/wait.ts';

interface FeedEvent {
  id: string;
  type: string;
  data: Record<string, any>;
}

const ITEMS = ['sku-1', 'sku-2', 'sku-3'];
const WAREHOUSES = ['WH-A', 'WH-B'];
const ROUNDS = 12;
// A test-only trigger makes the transaction that writes an event of a move with this reference
// wait, after the insert took its seq, until the test releases an advisory lock.
const HOLD = 'held-open';
const HOLD_LOCK = 4242;

const pick = <T>(list: readonly T[]) => list[Math.floor(Math.random() * list.length)];

/** Follows the feed in the background until stopped; every event read, in feed order. */
function follow(s: TestServer, from?: string) {
  const events: FeedEvent[] = [];
  let cursor: string | undefined = from;
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const q = new URLSearchParams({ limit: '50', ...(cursor && { after: cursor }) });
      const res = await s.request(`/events?${q}`);
      if (res.status !== 200) throw new Error(`GET /events: ${res.status} ${await res.text()}`);
      const page = await res.json();
      events.push(...page.data);
      cursor = page.page.next_cursor;
      if (!page.page.has_more) await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    events,
    position: () => cursor,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

/** Every row of a list, page by page (`limit`), and the smallest events_after of its pages. */
async function copyList(s: TestServer, path: string, limit = 200) {
  const rows: any[] = [];
  let eventsAfter: string | undefined;
  let cursor: string | undefined;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const res = await s.request(`${path}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    const body = await res.json();
    rows.push(...body.data);
    // The first page's is the smallest: positions only grow.
    eventsAfter ??= body.page.events_after;
    cursor = body.page.next_cursor;
  } while (cursor);
  return { rows, eventsAfter: eventsAfter as string };
}

const allPages = async (s: TestServer, path: string) => (await copyList(s, path)).rows;

async function mover(api: ApiClient) {
  for (let i = 0; i < ROUNDS; i++) {
    const item = pick(ITEMS);
    const [from, to] = Math.random() < 0.5 ? WAREHOUSES : [...WAREHOUSES].reverse();
    const body = pick([
      { type: 'RECEIPT' as const, to_wh: to, lines: [{ item_id: item, qty: 3 }] },
      { type: 'TRANSFER' as const, from_wh: from, to_wh: to, lines: [{ item_id: item, qty: 1 }] },
      { type: 'ISSUE' as const, from_wh: from, lines: [{ item_id: item, qty: 1 }] },
    ]);
    // Refusals (not enough stock) are part of the load: they must leave no event.
    await api.POST('/inventory/stock-moves', { body, params: { header: ik() } });
  }
}

async function reserver(api: ApiClient) {
  for (let i = 0; i < ROUNDS; i++) {
    const res = await api.POST('/inventory/reservations', {
      body: { item_id: pick(ITEMS), warehouse_id: pick(WAREHOUSES), qty: 1 },
      params: { header: ik() },
    });
    if (res.data && Math.random() < 0.5) {
      await api.POST('/inventory/reservations/{id}/release', {
        params: { path: { id: res.data.id }, header: ik() },
      });
    }
  }
}

async function buyer(api: ApiClient) {
  for (let i = 0; i < ROUNDS / 3; i++) {
    const po = ok(
      await api.POST('/procurement/purchase-orders', {
        params: { header: ik() },
        body: {
          vendor_id: 'ven_sync',
          ship_to_warehouse_id: 'WH-A',
          lines: [{ item_id: pick(ITEMS), qty: 4, unit_price: '1.00' }],
        },
      }),
    );
    const sent = ok(
      await api.POST('/procurement/purchase-orders/{id}/send', {
        params: { path: { id: po.id }, header: { ...ik(), 'If-Match': po.etag } },
      }),
    );
    ok(
      await api.POST('/procurement/receipts', {
        params: { header: ik() },
        body: {
          po_id: sent.id,
          warehouse_id: 'WH-A',
          lines: [{ po_line_id: sent.lines[0].id, qty_received: 2 }],
        },
      }),
    );
  }
}

t.test(
  '8 clients and a transaction held open: the feed has every event once, in commit order, and rebuilds the lists',
  async (t) => {
    const { s, api } = await startStockServer(t, [...WAREHOUSES], {
      'sku-1': 'NONE',
      'sku-2': 'NONE',
      'sku-3': 'NONE',
      held: 'NONE',
    });
    ok(
      await api.POST('/procurement/vendors', {
        body: { id: 'ven_sync', name: 'Sync vendor', currency: 'EUR' },
      }),
    );
    await s.sql.unsafe(`
      CREATE FUNCTION hold_marked_event() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.payload->'data'->>'reference' = '${HOLD}' THEN PERFORM pg_advisory_xact_lock_shared(${HOLD_LOCK}); END IF;
        RETURN NULL;
      END $$;
      CREATE TRIGGER hold_marked AFTER INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION hold_marked_event();`);

    const reader = follow(s);
    const holder = await s.sql.reserve();
    t.teardown(() => holder.release());
    await holder`SELECT pg_advisory_lock(${HOLD_LOCK})`;

    // The held posting: on a level nobody else touches, so it blocks no other client.
    const held = api.POST('/inventory/stock-moves', {
      body: {
        type: 'RECEIPT',
        to_wh: 'WH-A',
        reference: HOLD,
        lines: [{ item_id: 'held', qty: 1 }],
      },
      params: { header: { 'Idempotency-Key': randomUUID() } },
    });
    await waitFor(
      'the held posting to wait, its event inserted',
      async () =>
        (
          await s.sql`
            SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = ${HOLD_LOCK} AND NOT granted`
        ).length > 0,
    );
    const visible = await s.sql`SELECT 1 FROM outbox WHERE payload->'data'->>'reference' = ${HOLD}`;
    t.equal(visible.length, 0, 'its event is invisible to other sessions while it waits');

    const clients = [
      ...Array.from({ length: 4 }, () => mover(s.client())),
      ...Array.from({ length: 2 }, () => reserver(s.client())),
      ...Array.from({ length: 2 }, () => buyer(s.client())),
    ];
    // A partner that starts mid-load: copies the stock levels (small pages, so the copy spans
    // many commits), then follows the feed from the copy's events_after.
    await waitFor('some load', () => reader.events.length >= 10);
    const copy = await copyList(s, '/inventory/stock-levels', 2);
    const late = follow(s, copy.eventsAfter);
    // Release the held transaction once many later ones have committed (and been read).
    await waitFor(
      'later events read while one is held',
      () => reader.events.filter((e) => e.type === 'inventory.stock_move.posted').length >= 20,
    );
    // What a reader had seen committed before the held transaction commits.
    const readBeforeRelease = reader.events.map((e) => e.id);
    await holder`SELECT pg_advisory_unlock(${HOLD_LOCK})`;
    const heldMove = ok(await held);
    await Promise.all(clients);

    await waitFor('every event positioned and read', async () => {
      const [{ n }] =
        await s.sql`SELECT count(*)::int AS n FROM outbox WHERE position IS NULL AND type <> 'webhook.test'`;
      const [{ last }] = await s.sql`SELECT last_position::text AS last FROM feed_state`;
      if (n > 0) return false;
      const res = await s.request(`/events?limit=1&after=${reader.position() ?? ''}`);
      return last !== '0' && res.status === 200 && (await res.json()).data.length === 0;
    });
    await waitFor('the late reader at the end too', async () => {
      const res = await s.request(`/events?limit=1&after=${late.position() ?? ''}`);
      return (await res.json()).data.length === 0;
    });
    await Promise.all([reader.stop(), late.stop()]);
    const events = reader.events;

    const committed = await s.sql`SELECT id FROM outbox WHERE type <> 'webhook.test'`;
    const ids = events.map((e) => e.id);
    t.equal(new Set(ids).size, ids.length, 'no event read twice');
    t.same(new Set(ids), new Set(committed.map((r) => r.id)), 'every committed event read');

    const moveAt = new Map(
      events.flatMap((e, i) => (e.type === 'inventory.stock_move.posted' ? [[e.data.id, i]] : [])),
    );
    const heldAt = moveAt.get(heldMove.id) ?? -1;
    t.ok(heldAt >= 0, 'the held move is in the feed');
    t.ok(readBeforeRelease.length >= 20, `${readBeforeRelease.length} events read before`);
    t.same(
      ids.slice(0, readBeforeRelease.length),
      readBeforeRelease,
      'the held move comes after every event read before it committed: the feed never inserts an event behind a reader',
    );
    t.ok(heldAt >= readBeforeRelease.length);
    const again: string[] = [];
    for (let cursor: string | undefined; ; ) {
      const res = await s.request(`/events?limit=200${cursor ? `&after=${cursor}` : ''}`);
      const page = await res.json();
      again.push(...page.data.map((e: FeedEvent) => e.id));
      cursor = page.page.next_cursor;
      if (!page.page.has_more) break;
    }
    t.same(again, ids, 'read again from the start: the same events in the same order');

    // The state rebuilt from the feed, last event of each resource wins.
    const levels = new Map<string, any>();
    const reservations = new Map<string, any>();
    const orders = new Map<string, any>();
    const moves = new Set<string>();
    for (const e of events) {
      if (e.type === 'inventory.stock_level.changed')
        levels.set(`${e.data.item_id}|${e.data.warehouse_id}`, e.data);
      else if (e.type.startsWith('inventory.reservation.')) reservations.set(e.data.id, e.data);
      else if (e.type.startsWith('procurement.purchase_order.')) orders.set(e.data.id, e.data);
      else if (e.type === 'inventory.stock_move.posted') moves.add(e.data.id);
    }
    const listedLevels = await allPages(s, '/inventory/stock-levels');
    t.ok(listedLevels.length >= 6);
    for (const l of listedLevels) {
      const rebuilt = levels.get(`${l.item_id}|${l.warehouse_id}`);
      t.same(
        rebuilt && {
          on_hand: rebuilt.on_hand,
          reserved: rebuilt.reserved,
          available: rebuilt.available,
        },
        { on_hand: l.on_hand, reserved: l.reserved, available: l.available },
        `level ${l.item_id} in ${l.warehouse_id}`,
      );
    }
    t.equal(levels.size, listedLevels.length, 'no level in the feed that the list lacks');

    // The late partner's copy, with the feed applied over it, is the state too.
    const synced = new Map(copy.rows.map((l) => [`${l.item_id}|${l.warehouse_id}`, l]));
    for (const e of late.events) {
      if (e.type === 'inventory.stock_level.changed')
        synced.set(`${e.data.item_id}|${e.data.warehouse_id}`, e.data);
    }
    t.same(
      Object.fromEntries([...synced].map(([k, l]) => [k, [l.on_hand, l.reserved]]).sort()),
      Object.fromEntries(
        listedLevels.map((l) => [`${l.item_id}|${l.warehouse_id}`, [l.on_hand, l.reserved]]).sort(),
      ),
      'a copy of the lists taken mid-load, followed from its events_after, ends equal to the lists',
    );
    const listedReservations = await allPages(s, '/inventory/reservations');
    t.same(
      Object.fromEntries([...reservations].map(([id, r]) => [id, r.status])),
      Object.fromEntries(listedReservations.map((r) => [r.id, r.status])),
      'reservations and their statuses',
    );
    const listedOrders = await allPages(s, '/procurement/purchase-orders');
    t.same(
      Object.fromEntries([...orders].map(([id, o]) => [id, [o.status, o.etag]])),
      Object.fromEntries(listedOrders.map((o) => [o.id, [o.status, o.etag]])),
      'purchase orders, their statuses and versions',
    );
    t.same(
      moves,
      new Set((await allPages(s, '/inventory/stock-moves')).map((m) => m.id)),
      'stock moves',
    );
  },
);
