// The bench's reservation scenarios: reserving on the hot item against the naive SQL, and reading
// and posting on a level with many ACTIVE reservations against a level alike with none.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Sql } from '../../db/client.ts';
import type { Scenario } from './scenarios.ts';
import { RESERVED_ITEM, UNRESERVED_ITEM } from './seed.ts';

/** ACTIVE reservations the reserved level holds while measured. */
export const SCALE_RESERVATIONS = 100_000;

/**
 * Gives RESERVED_ITEM's level in WH-1 its SCALE_RESERVATIONS ACTIVE reservations of 1 unit (no
 * expiry) and raises its stored `reserved` by as many, in one statement, so invariant 2 holds.
 * Idempotent (the ids are fixed), so later rounds find them there and add none.
 */
export async function reserveAtScale(sql: Sql): Promise<void> {
  const t0 = Date.now();
  const added = await sql.begin(async (tx) => {
    // The level before its reservations, as every writer locks them.
    await tx`SELECT FROM stock_levels WHERE item_id = ${RESERVED_ITEM} AND warehouse_id = 'WH-1' FOR UPDATE`;
    const [row] = await tx<{ added: number }[]>`
      WITH added AS (
        INSERT INTO reservations (id, item_id, warehouse_id, qty, status, created_by)
        SELECT 'res_bench_' || g, ${RESERVED_ITEM}, 'WH-1', 1, 'ACTIVE', 'bench'
        FROM generate_series(1, ${SCALE_RESERVATIONS}) g
        ON CONFLICT (id) DO NOTHING
        RETURNING qty
      ), level AS (
        UPDATE stock_levels SET reserved = reserved + (SELECT sum(qty) FROM added), updated_at = now()
        WHERE item_id = ${RESERVED_ITEM} AND warehouse_id = 'WH-1' AND EXISTS (SELECT FROM added)
      )
      SELECT count(*)::int AS added FROM added`;
    return row.added;
  });
  if (added)
    console.error(
      `#   ${added} ACTIVE reservations written on ${RESERVED_ITEM}@WH-1 in ${Date.now() - t0} ms`,
    );
}

/** ACTIVE reservations of the hot item in WH-1. */
async function hotReservations(sql: Sql): Promise<number> {
  const [{ n }] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM reservations
    WHERE item_id = 'item-hot' AND warehouse_id = 'WH-1' AND status = 'ACTIVE'`;
  return n;
}

/**
 * Releases what reserve-hot and its baseline reserved on the hot item (they reserve 1 unit each
 * time and never release), lowering the level's `reserved` by as much in the same statement: so
 * that the hot level read by later scenarios and rounds carries no growing pile of reservations.
 * First waits until the requests still in flight when the load stopped (the server finishes them)
 * have committed: until their number has not changed for a second (at most 30 s).
 */
async function releaseHotReservations(sql: Sql): Promise<void> {
  for (let n = -1, deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    const now = await hotReservations(sql);
    if (now === n) break;
    n = now;
    await sleep(1000);
  }
  await sql.begin(async (tx) => {
    // The level before its reservations, as every writer locks them.
    await tx`SELECT FROM stock_levels WHERE item_id = 'item-hot' AND warehouse_id = 'WH-1' FOR UPDATE`;
    await tx`
      WITH released AS (
        UPDATE reservations SET status = 'RELEASED', updated_at = now()
        WHERE item_id = 'item-hot' AND warehouse_id = 'WH-1' AND status = 'ACTIVE'
        RETURNING qty
      )
      UPDATE stock_levels SET reserved = reserved - (SELECT sum(qty) FROM released), updated_at = now()
      WHERE item_id = 'item-hot' AND warehouse_id = 'WH-1' AND EXISTS (SELECT FROM released)`;
  });
}

/** The single-level read: one item's level in WH-1, as GET /inventory/stock-levels lists it. */
const levelRead = (item: string) => () => ({
  path: `/inventory/stock-levels?item_id=${item}&warehouse_id=WH-1&limit=1`,
});

/** An ISSUE of 1 unit of the item from WH-1: the posting that must leave reserved stock alone. */
const levelIssue = (item: string) => () => ({
  body: { type: 'ISSUE', from_wh: 'WH-1', lines: [{ item_id: item, qty: 1 }] },
});

export const reservationScenarios: Scenario[] = [
  {
    name: 'reserve-hot',
    method: 'POST',
    path: '/inventory/reservations',
    baseline: { name: 'baseline-reserve-hot (pgbench)', script: 'baseline-reserve-hot.sql' },
    targets: { ratio: 10 },
    async prepare() {
      return () => ({ body: { item_id: 'item-hot', warehouse_id: 'WH-1', qty: 1 } });
    },
    finish: ({ sql }) => releaseHotReservations(sql),
  },
  {
    name: 'level-read',
    method: 'GET',
    path: '/inventory/stock-levels',
    targets: {},
    async prepare() {
      return levelRead(UNRESERVED_ITEM);
    },
  },
  {
    // The same read of a level alike but for its 100,000 ACTIVE reservations: reading a level
    // should not cost more with them.
    name: 'level-read-100k-reservations',
    method: 'GET',
    path: '/inventory/stock-levels',
    baseline: { scenario: 'level-read' },
    targets: { ratio: 0.9 },
    async prepare({ sql }) {
      await reserveAtScale(sql);
      return levelRead(RESERVED_ITEM);
    },
  },
  {
    name: 'level-issue',
    method: 'POST',
    path: '/inventory/stock-moves',
    targets: {},
    async prepare() {
      return levelIssue(UNRESERVED_ITEM);
    },
  },
  {
    // An ISSUE checks what is available (on hand less reserved) on the very level the
    // reservations are on; a transfer would add a destination level that has none.
    name: 'level-issue-100k-reservations',
    method: 'POST',
    path: '/inventory/stock-moves',
    baseline: { scenario: 'level-issue' },
    targets: { ratio: 0.9 },
    async prepare({ sql }) {
      await reserveAtScale(sql);
      return levelIssue(RESERVED_ITEM);
    },
  },
];
