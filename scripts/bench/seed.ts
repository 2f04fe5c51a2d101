// The benchmark's data set, written straight into the ledger (as posted RECEIPT moves with their
// outbox events and audit entries, so the invariant checker holds from the start):
// 3 warehouses; 100,000 items (for items-search), the first 10,000 stocked in every warehouse;
// one hot item with a billion units in WH-1, and two more like it for reservations at scale.
import type { Sql } from '../../db/client.ts';

export const STOCKED_ITEMS = 10_000;
/** The warehouse whose stock is spread over bins, for picking (pick-5-locations). */
export const PICKING_WAREHOUSE = 'WH-4';
export const PICKING_BINS = 5;
/** Units of each picking item in each bin of the picking warehouse. */
export const UNITS_PER_BIN = 20;
/**
 * Items stocked in the picking warehouse's bins: 100 units each, 14 picks of 7. With 10,000 the
 * busiest items ran out by a third round of ~1,300 picks a second (a few 409s); 30,000 lasts.
 */
export const PICKING_ITEMS = 30_000;
export const CATALOGUE_ITEMS = 100_000;
/**
 * Two levels alike (a billion units in WH-1, one item each), for reading and posting with and
 * without many ACTIVE reservations: the bench gives the second its reservations before measuring
 * it (scripts/bench/reservations.ts), the first keeps none.
 */
export const UNRESERVED_ITEM = 'item-unreserved';
export const RESERVED_ITEM = 'item-reserved';
export const WORDS = [
  'bolt',
  'nut',
  'washer',
  'screw',
  'glue',
  'drill',
  'cable',
  'pipe',
  'valve',
  'hinge',
  'bracket',
  'spring',
  'gasket',
  'fuse',
  'relay',
  'sensor',
];

export async function seed(sql: Sql): Promise<void> {
  await sql`INSERT INTO warehouses (id, name) VALUES ('WH-1', 'Bench one'), ('WH-2', 'Bench two'), ('WH-3', 'Bench three')`;
  await sql`
    INSERT INTO items (id, sku, name, uom, track_by)
    SELECT 'item-' || g, 'SKU-' || lpad(g::text, 6, '0'),
           initcap((${WORDS}::text[])[1 + g % ${WORDS.length}]) || ' ' || (g % 97) || ' mm, grade ' || (g % 13), 'EA', 'NONE'
    FROM generate_series(1, ${CATALOGUE_ITEMS}) g`;
  await sql`
    INSERT INTO items (id, sku, name, uom, track_by) VALUES
      ('item-hot', 'SKU-HOT', 'Hot item', 'EA', 'NONE'),
      (${UNRESERVED_ITEM}, 'SKU-UNRESERVED', 'Unreserved item', 'EA', 'NONE'),
      (${RESERVED_ITEM}, 'SKU-RESERVED', 'Reserved item', 'EA', 'NONE')`;
  for (const wh of ['WH-1', 'WH-2', 'WH-3']) {
    const move = `sm_seed_${wh}`;
    await sql.begin(async (tx) => {
      await tx`INSERT INTO stock_moves (id, type, to_wh, reason, created_by) VALUES (${move}, 'RECEIPT', ${wh}, 'benchmark seed', 'bench')`;
      await tx`
        INSERT INTO stock_move_lines (move_id, line_no, item_id, qty)
        SELECT ${move}, g, 'item-' || g, 1000000 FROM generate_series(1, ${STOCKED_ITEMS}) g`;
      if (wh === 'WH-1')
        await tx`
          INSERT INTO stock_move_lines (move_id, line_no, item_id, qty) VALUES
            (${move}, 0, 'item-hot', 1000000000),
            (${move}, ${STOCKED_ITEMS + 1}, ${UNRESERVED_ITEM}, 1000000000),
            (${move}, ${STOCKED_ITEMS + 2}, ${RESERVED_ITEM}, 1000000000)`;
      await tx`
        INSERT INTO stock_levels (item_id, warehouse_id, on_hand)
        SELECT item_id, ${wh}, qty FROM stock_move_lines WHERE move_id = ${move}`;
      // Where a receipt naming no location puts its stock.
      await tx`
        INSERT INTO location_levels (item_id, warehouse_id, location, on_hand)
        SELECT item_id, ${wh}, 'DEFAULT', qty FROM stock_move_lines WHERE move_id = ${move}`;
      // Fanned out (and given its feed position) by the server's dispatcher once it starts.
      await tx`INSERT INTO outbox (id, type, payload) VALUES (${`evt_seed_${wh}`}, 'inventory.stock_move.posted', ${tx.json({ data: { id: move } })})`;
      await tx`
        INSERT INTO audit_log (actor, client_id, request_id, action, entity, entity_id, warehouse_ids)
        VALUES ('bench', 'bench', 'seed', 'stock_move.posted', 'stock_move', ${move}, ${[wh]})`;
    });
  }
  await seedPicking(sql);
  await sql`VACUUM ANALYZE`;
}

/**
 * WH-4: each of the first PICKING_ITEMS items in 5 bins (P-1 … P-5, picked in that order), 20 units each, received
 * into them by one RECEIPT move naming them.
 */
async function seedPicking(sql: Sql): Promise<void> {
  const wh = PICKING_WAREHOUSE;
  const move = `sm_seed_${wh}`;
  await sql.begin(async (tx) => {
    await tx`INSERT INTO warehouses (id, name) VALUES (${wh}, 'Bench picking')`;
    await tx`
      INSERT INTO locations (id, warehouse_id, code, pick_order)
      SELECT 'loc_bench_p' || b, ${wh}, 'P-' || b, b FROM generate_series(1, ${PICKING_BINS}) b`;
    await tx`INSERT INTO stock_moves (id, type, to_wh, reason, created_by) VALUES (${move}, 'RECEIPT', ${wh}, 'benchmark seed', 'bench')`;
    await tx`
      INSERT INTO stock_move_lines (move_id, line_no, item_id, qty, to_location)
      SELECT ${move}, g * ${PICKING_BINS} + b, 'item-' || g, ${UNITS_PER_BIN}, 'P-' || b
      FROM generate_series(1, ${PICKING_ITEMS}) g, generate_series(1, ${PICKING_BINS}) b`;
    await tx`
      INSERT INTO stock_levels (item_id, warehouse_id, on_hand)
      SELECT 'item-' || g, ${wh}, ${UNITS_PER_BIN * PICKING_BINS} FROM generate_series(1, ${PICKING_ITEMS}) g`;
    await tx`
      INSERT INTO location_levels (item_id, warehouse_id, location, on_hand)
      SELECT item_id, ${wh}, to_location, qty FROM stock_move_lines WHERE move_id = ${move}`;
    await tx`INSERT INTO outbox (id, type, payload) VALUES (${`evt_seed_${wh}`}, 'inventory.stock_move.posted', ${tx.json({ data: { id: move } })})`;
    await tx`
      INSERT INTO audit_log (actor, client_id, request_id, action, entity, entity_id, warehouse_ids)
      VALUES ('bench', 'bench', 'seed', 'stock_move.posted', 'stock_move', ${move}, ${[wh]})`;
  });
}
