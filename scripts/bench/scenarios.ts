// What each benchmark scenario sends. prepare() runs once before the scenario and returns a
// function making each request's path and body (every request also gets a fresh Idempotency-Key).
import type { Sql } from '../../db/client.ts';
import { STOCKED_ITEMS, WORDS } from './seed.ts';
import type { Targets } from './targets.ts';

export interface ScenarioContext {
  sql: Sql;
  url: string;
  token: string;
}

export interface Scenario {
  name: string;
  method: 'GET' | 'POST';
  path: string;
  /** pgbench script measuring the naive SQL transaction this scenario competes with. */
  baseline?: { name: string; script: string };
  /** Non-2xx statuses the scenario provokes on purpose. */
  expectedStatuses?: number[];
  /** What it must reach (docs/benchmarks.md, Targets); every scenario must also stay within the RSS limit, without unexpected errors. */
  targets: Targets;
  prepare(ctx: ScenarioContext): Promise<() => { path?: string; body?: unknown }>;
}

const pick = <T>(list: readonly T[]) => list[Math.floor(Math.random() * list.length)];
const WAREHOUSES = ['WH-1', 'WH-2', 'WH-3'];

/** Purchase orders with open lines, created and sent through the API (receipts need SENT orders). */
async function openPurchaseOrderLines(
  { url, token }: ScenarioContext,
  orders: number,
  linesPerOrder: number,
) {
  const call = async (
    path: string,
    init: { method: string; body?: unknown; headers?: Record<string, string> },
  ) => {
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
  };
  const vendor = await call('/procurement/vendors', {
    method: 'POST',
    body: { name: 'Bench vendor', currency: 'EUR' },
  });
  const lines: { po_id: string; po_line_id: string }[] = [];
  for (let o = 0; o < orders; o++) {
    const po = await call('/procurement/purchase-orders', {
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
    await call(`/procurement/purchase-orders/${po.id}/send`, {
      method: 'POST',
      headers: { 'if-match': po.etag },
    });
    for (const line of po.lines) lines.push({ po_id: po.id, po_line_id: line.id });
  }
  return lines;
}

export const scenarios: Scenario[] = [
  {
    name: 'transfer-uniform',
    method: 'POST',
    path: '/inventory/stock-moves',
    baseline: { name: 'baseline-uniform (pgbench)', script: 'baseline-transfer.sql' },
    targets: { ratio: 1, p99: 50 },
    async prepare() {
      return () => {
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
    },
  },
  {
    name: 'issue-hot',
    method: 'POST',
    path: '/inventory/stock-moves',
    baseline: { name: 'baseline-hot (pgbench)', script: 'baseline-issue-hot.sql' },
    targets: { ratio: 3, p99: 50 },
    async prepare() {
      return () => ({
        body: { type: 'ISSUE', from_wh: 'WH-1', lines: [{ item_id: 'item-hot', qty: 1 }] },
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
];
