// What each benchmark scenario sends. prepare() runs once before the scenario and returns a
// function making each request's path and body (every request also gets a fresh Idempotency-Key).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Sql } from '../../db/client.ts';
import { load, type MakeRequest } from './load.ts';
import { reservationScenarios } from './reservations.ts';
import { PICKING_ITEMS, PICKING_WAREHOUSE, STOCKED_ITEMS, WORDS } from './seed.ts';
import type { Targets } from './targets.ts';

export interface ScenarioContext {
  sql: Sql;
  url: string;
  token: string;
  /** How many events events-200 makes the feed hold (`--feed-events`). */
  feedEvents: number;
  /** How many reorder rules replenishment-run runs over (`--replenishment-rules`, at most the stocked items). */
  replenishmentRules: number;
}

export interface Scenario {
  name: string;
  method: 'GET' | 'POST';
  path: string;
  /**
   * What its throughput is compared with, measured in the same round before it (and run by
   * `--only` with it): a pgbench script of the naive SQL transaction the scenario competes with,
   * or another scenario, named.
   */
  baseline?: Baseline;
  /**
   * What its throughput is compared with besides: the set-based SQL of the same work, the most
   * PostgreSQL makes of it (measured in the same round, before it, and run by `--only` with it).
   */
  ceiling?: PgbenchBaseline;
  /**
   * Driven against a second server whose lists are read on a hot standby of the bench's database
   * (DATABASE_REPLICA_URL; scripts/bench/replica.ts), instead of the bench's server.
   */
  replica?: boolean;
  /** Non-2xx statuses the scenario provokes on purpose. */
  expectedStatuses?: number[];
  /**
   * At most this many connections, whatever `--connections` says: for a scenario whose every
   * request is long work, which more clients only queue (and time out) behind.
   */
  maxConnections?: number;
  /** What it must reach (docs/benchmarks.md, Targets); every scenario must also stay within the RSS limit, without unexpected errors. */
  targets: Targets;
  prepare(ctx: ScenarioContext): Promise<MakeRequest>;
  /** Run after the measurement: undoes what the scenario left that would burden later ones. */
  finish?(ctx: ScenarioContext): Promise<void>;
}

export interface PgbenchBaseline {
  name: string;
  /** In scripts/bench/. */
  script: string;
  /** pgbench's clients (by default as many as the HTTP load has connections). */
  clients?: number;
  /** Moves one transaction of the script makes, counted in its throughput (by default 1). */
  perTransaction?: number;
}

export type Baseline = PgbenchBaseline | { scenario: string };

export const baselineName = (b: Baseline) => ('script' in b ? b.name : b.scenario);

const pick = <T>(list: readonly T[]) => list[Math.floor(Math.random() * list.length)];
const WAREHOUSES = ['WH-1', 'WH-2', 'WH-3'];

/** A call to the API as the bench's client; throws on anything but a 2xx. */
async function call(
  { url, token }: ScenarioContext,
  path: string,
  init: { method: string; body?: unknown; headers?: Record<string, string> } = { method: 'GET' },
) {
  const res = await fetch(url + path, {
    method: init.method,
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      'idempotency-key': crypto.randomUUID(),
      ...init.headers,
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  if (!res.ok) throw new Error(`${init.method} ${path} → ${res.status} ${await res.text()}`);
  return res.json() as Promise<any>;
}

/**
 * The path of every full page of a list (or of the feed), found by paging it through the API from
 * its first page: cursors are signed by the server, so only it can make them. `param` is the
 * query parameter the page's next_cursor goes in.
 */
async function fullPages(ctx: ScenarioContext, first: string, param: 'cursor' | 'after') {
  const paths: string[] = [];
  for (let path = first; ; ) {
    const { page } = await call(ctx, path);
    if (!page.has_more) return paths;
    paths.push(path);
    path = `${first}&${param}=${encodeURIComponent(page.next_cursor)}`;
  }
}

/** Purchase orders with open lines, created and sent through the API (receipts need SENT orders). */
async function openPurchaseOrderLines(ctx: ScenarioContext, orders: number, linesPerOrder: number) {
  const vendor = await call(ctx, '/procurement/vendors', {
    method: 'POST',
    body: { name: 'Bench vendor', currency: 'EUR' },
  });
  const lines: { po_id: string; po_line_id: string }[] = [];
  for (let o = 0; o < orders; o++) {
    const po = await call(ctx, '/procurement/purchase-orders', {
      method: 'POST',
      body: {
        vendor_id: vendor.id,
        lines: Array.from({ length: linesPerOrder }, (_, l) => ({
          item_id: `item-${1 + ((o * linesPerOrder + l) % STOCKED_ITEMS)}`,
          qty: 1_000_000,
          unit_price: '1.00',
        })),
      },
    });
    await call(ctx, `/procurement/purchase-orders/${po.id}/send`, {
      method: 'POST',
      headers: { 'if-match': po.etag },
    });
    for (const line of po.lines) lines.push({ po_id: po.id, po_line_id: line.id });
  }
  return lines;
}

/** A TRANSFER of 1 unit of a random stocked item between two random warehouses. */
const transfer: MakeRequest = () => {
  const from = pick(WAREHOUSES);
  const to = pick(WAREHOUSES.filter((w) => w !== from));
  return {
    body: {
      type: 'TRANSFER',
      from_wh: from,
      to_wh: to,
      lines: [{ item_id: `item-${1 + Math.floor(Math.random() * STOCKED_ITEMS)}`, qty: 1 }],
    },
  };
};

/** Events in the feed: positioned, and not deleted by retention. */
async function feedLength(sql: Sql) {
  const [{ kept }] = await sql<{ kept: number }[]>`
    SELECT (last_position - expired_through)::int AS kept FROM feed_state`;
  return kept;
}

/**
 * Makes the feed hold `feedEvents` events, of real postings: the bench seeds its ledger in SQL
 * without feed events, and an event without its move would break invariant 6. Whatever ran before
 * in the round counts (transfer-uniform alone posts tens of thousands); the rest are transfers
 * posted through the API, 32 at a time. Then waits for the server's dispatcher to give them their
 * positions, which it does after their commit.
 */
async function fillFeed({ sql, url, token, feedEvents }: ScenarioContext) {
  const missing = feedEvents - (await feedLength(sql));
  if (missing > 0) {
    const t0 = Date.now();
    const posted = await load({
      url,
      token,
      connections: 32,
      method: 'POST',
      path: '/inventory/stock-moves',
      make: transfer,
      amount: missing,
    });
    if (posted.non2xx || posted.errors)
      throw new Error(
        `filling the feed: ${posted.non2xx} non-2xx answers, ${posted.errors} errors`,
      );
    console.error(`#   posted ${missing} transfers for the feed in ${Date.now() - t0} ms`);
  }
  for (const deadline = Date.now() + 60_000; (await feedLength(sql)) < feedEvents; ) {
    if (Date.now() > deadline)
      throw new Error(
        `the feed has ${await feedLength(sql)} events after 60 s, not ${feedEvents}: is the dispatcher running?`,
      );
    await sleep(100);
  }
}

/**
 * Pages over all levels (40,003), unfiltered and of each warehouse (which skips the other
 * warehouses' rows in the (item_id, warehouse_id) order); only full ones, as events-200's are.
 */
async function stockLevelPages(ctx: ScenarioContext): Promise<MakeRequest> {
  const pages = await Promise.all(
    ['', ...WAREHOUSES.map((w) => `&warehouse_id=${w}`)].map((filter) =>
      fullPages(ctx, `/inventory/stock-levels?limit=200${filter}`, 'cursor'),
    ),
  );
  const paths = pages.flat();
  console.error(`#   ${paths.length} pages of stock levels to pick from`);
  return () => ({ path: pick(paths) });
}

/**
 * Makes WH-2's first `--replenishment-rules` (10,000) stocked items (1,000,000 on hand each) want more: a MIN_MAX rule each whose
 * minimum is above what is there, and a preferred vendor item each with a minimum, a multiple and
 * two price breaks, so that every rule of a run goes through every step (projection, rounding,
 * pricing) and every run suggests 10,000 orders. Written in SQL, as the bench's seed is.
 */
async function replenishmentRules({ sql, replenishmentRules: n }: ScenarioContext) {
  const rules = Math.min(n, STOCKED_ITEMS);
  await sql`INSERT INTO vendors (id, name, currency) VALUES ('ven_bench', 'Bench vendor', 'EUR') ON CONFLICT DO NOTHING`;
  await sql`
    INSERT INTO reorder_rules (id, item_id, warehouse_id, policy, min_qty, max_qty)
    SELECT 'ror_bench_' || g, 'item-' || g, 'WH-2', 'MIN_MAX', 1000000 + g, 1500000 + g
    FROM generate_series(1, ${rules}) g
    ON CONFLICT DO NOTHING`;
  await sql`
    INSERT INTO vendor_items (id, vendor_id, item_id, purchase_uom, min_order_qty, order_multiple, lead_time_days, currency, preferred)
    SELECT 'vi_bench_' || g, 'ven_bench', 'item-' || g, 'EA', 1000, 12, g % 30, 'EUR', true
    FROM generate_series(1, ${rules}) g
    ON CONFLICT DO NOTHING`;
  await sql`
    INSERT INTO vendor_item_price_breaks (vendor_item_id, min_qty, unit_price)
    SELECT 'vi_bench_' || g, b.min_qty, b.price
    FROM generate_series(1, ${rules}) g,
         (VALUES (1000, 1.25), (100000, 1.10)) AS b(min_qty, price)
    ON CONFLICT DO NOTHING`;
  await sql`ANALYZE reorder_rules, vendor_items, vendor_item_price_breaks`;
}

export const scenarios: Scenario[] = [
  {
    name: 'transfer-uniform',
    method: 'POST',
    path: '/inventory/stock-moves',
    baseline: { name: 'baseline-uniform (pgbench)', script: 'baseline-transfer.sql' },
    // The same transfers, 32 to a transaction of set-based statements, at 4 clients: counted in
    // transfers a second, the most PostgreSQL makes of this work here.
    ceiling: {
      name: 'ceiling-uniform (pgbench)',
      script: 'baseline-transfer-set.sql',
      clients: 4,
      perTransaction: 32,
    },
    targets: { ratio: 3, ceiling: 0.25, baselineP99: 0.5 },
    async prepare() {
      return transfer;
    },
  },
  {
    name: 'issue-hot',
    method: 'POST',
    path: '/inventory/stock-moves',
    baseline: { name: 'baseline-hot (pgbench)', script: 'baseline-issue-hot.sql' },
    targets: { ratio: 10, baselineP99: 0.5 },
    async prepare() {
      return () => ({
        body: { type: 'ISSUE', from_wh: 'WH-1', lines: [{ item_id: 'item-hot', qty: 1 }] },
      });
    },
  },
  ...reservationScenarios,
  {
    // An ISSUE of 7 units naming no location, from a warehouse holding every item in 5 bins of 20:
    // the ledger reads the item's 5 location levels and picks in pick order, so a pick takes one
    // or two bins. Compared with transfer-uniform, whose stock is in one location per warehouse.
    name: 'pick-5-locations',
    method: 'POST',
    path: '/inventory/stock-moves',
    baseline: { scenario: 'transfer-uniform' },
    targets: {},
    async prepare() {
      return () => ({
        body: {
          type: 'ISSUE',
          from_wh: PICKING_WAREHOUSE,
          lines: [{ item_id: `item-${1 + Math.floor(Math.random() * PICKING_ITEMS)}`, qty: 7 }],
        },
      });
    },
  },
  {
    name: 'receipt',
    method: 'POST',
    path: '/procurement/receipts',
    targets: {},
    async prepare(ctx) {
      const lines = await openPurchaseOrderLines(ctx, 200, 5);
      return () => {
        const line = pick(lines);
        return {
          body: {
            po_id: line.po_id,
            warehouse_id: pick(WAREHOUSES),
            lines: [{ po_line_id: line.po_line_id, qty_received: 1 }],
          },
        };
      };
    },
  },
  {
    name: 'items-search',
    method: 'GET',
    path: '/inventory/items',
    targets: { rps: 4000, p99: 30 },
    async prepare() {
      return () => {
        const search =
          Math.random() < 0.5
            ? pick(WORDS)
            : `SKU-0${Math.floor(Math.random() * 10000)}`.slice(
                0,
                8 + Math.floor(Math.random() * 3),
              );
        return { path: `/inventory/items?search=${encodeURIComponent(search)}&limit=20` };
      };
    },
  },
  {
    name: 'stock-levels-200',
    method: 'GET',
    path: '/inventory/stock-levels?limit=200',
    targets: {},
    prepare: stockLevelPages,
  },
  {
    // The same pages, from a server that reads lists on a streaming replica: what moving list reads
    // off the primary gives. The standby runs on the same machine (docs/benchmarks.md).
    name: 'stock-levels-200-replica',
    method: 'GET',
    path: '/inventory/stock-levels?limit=200',
    baseline: { scenario: 'stock-levels-200' },
    replica: true,
    targets: {},
    prepare: stockLevelPages,
  },
  {
    name: 'events-200',
    method: 'GET',
    path: '/events?limit=200',
    // The feed's page is one statement of rows sent as they are stored (their JSON text); it
    // should cost well under a list's page of as many levels, whose rows are joined, aggregated
    // (batches, reservations) and serialized anew. No p99 target: in a closed loop of 64 clients
    // the latency follows from the throughput (Little's law), which the ratio already judges.
    baseline: { scenario: 'stock-levels-200' },
    targets: { ratio: 2 },
    async prepare(ctx) {
      await fillFeed(ctx);
      const paths = await fullPages(ctx, '/events?limit=200', 'after');
      console.error(`#   ${paths.length} pages of the feed to pick from`);
      return () => ({ path: pick(paths) });
    },
  },
  {
    // One run over 10,000 rules per request: the one statement that works them all out, and its
    // 10,000 suggestions written. Its figure is the run's latency (docs/benchmarks.md), with one
    // client: a run is ~0.6 s of PostgreSQL's CPU, and 64 at once only wait past the load
    // generator's 10 s timeout.
    name: 'replenishment-run',
    method: 'POST',
    path: '/procurement/replenishment-runs',
    maxConnections: 1,
    targets: {},
    async prepare(ctx) {
      await replenishmentRules(ctx);
      return () => ({ body: { warehouse_id: 'WH-2' } });
    },
  },
];
