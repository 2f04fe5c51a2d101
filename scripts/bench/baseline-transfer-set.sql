-- The set-based ceiling of `npm run bench`: the transfers of baseline-transfer.sql (1 unit of a
-- random stocked item between two random warehouses of WH-1 … WH-3, every row a posting writes),
-- 32 per transaction, each statement writing what all 32 need at once. Run with 4 clients and
-- counted in transfers (tps × 32): what PostgreSQL itself can do when round trips and commits are
-- shared by many moves, as group commit shares them.
-- The 32 items are distinct (one in each of 32 disjoint runs of 312 items from a random start), so
-- no statement touches a row twice; the levels are locked first in key order, as the server locks
-- them, so that two transactions sharing items queue instead of deadlocking.
SELECT md5(random()::text || clock_timestamp()::text) AS k,
       array_agg(1 + (base + g * 312 + floor(random() * 312)::int) % 10000 ORDER BY g) AS items,
       array_agg(src ORDER BY g) AS srcs,
       array_agg(1 + (src + floor(random() * 2)::int) % 3 ORDER BY g) AS dsts
FROM (SELECT floor(random() * 10000)::int AS base) b,
     LATERAL (SELECT g, 1 + floor(random() * 3)::int AS src FROM generate_series(0, 31) g) m
\gset
BEGIN;
INSERT INTO idempotency_keys (client_id, sub, operation, key, fingerprint)
  SELECT 'pgbench', 'pgbench', 'createStockMove', (:k::text) || '-' || n, 'baseline' FROM generate_series(1, 32) n;
SELECT 1 FROM stock_levels
  WHERE (item_id, warehouse_id) IN (
    SELECT 'item-' || i, 'WH-' || w FROM unnest(:items::int[], :srcs::int[], :dsts::int[]) AS m(i, s, d), LATERAL (VALUES (s), (d)) AS l(w))
  ORDER BY item_id, warehouse_id FOR UPDATE;
UPDATE stock_levels s SET on_hand = s.on_hand - 1, updated_at = now()
  FROM unnest(:items::int[], :srcs::int[]) AS m(i, w)
  WHERE s.item_id = 'item-' || m.i AND s.warehouse_id = 'WH-' || m.w AND s.on_hand - s.reserved >= 1;
INSERT INTO stock_levels (item_id, warehouse_id, on_hand)
  SELECT 'item-' || i, 'WH-' || w, 1 FROM unnest(:items::int[], :dsts::int[]) AS m(i, w)
  ON CONFLICT (item_id, warehouse_id) DO UPDATE SET on_hand = stock_levels.on_hand + 1, updated_at = now();
UPDATE location_levels ll SET on_hand = ll.on_hand - 1, updated_at = now()
  FROM unnest(:items::int[], :srcs::int[]) AS m(i, w)
  WHERE ll.item_id = 'item-' || m.i AND ll.warehouse_id = 'WH-' || m.w AND ll.location = 'DEFAULT' AND ll.batch = '';
INSERT INTO location_levels (item_id, warehouse_id, location, on_hand)
  SELECT 'item-' || i, 'WH-' || w, 'DEFAULT', 1 FROM unnest(:items::int[], :dsts::int[]) AS m(i, w)
  ON CONFLICT (item_id, warehouse_id, location, batch) DO UPDATE SET on_hand = location_levels.on_hand + 1, updated_at = now();
INSERT INTO stock_moves (id, type, from_wh, to_wh, idempotency_key, created_by)
  SELECT 'sm_pgb' || (:k::text) || '-' || n, 'TRANSFER', 'WH-' || s, 'WH-' || d, (:k::text) || '-' || n, 'pgbench'
  FROM unnest(:srcs::int[], :dsts::int[]) WITH ORDINALITY AS m(s, d, n);
INSERT INTO stock_move_lines (move_id, line_no, item_id, qty)
  SELECT 'sm_pgb' || (:k::text) || '-' || n, 1, 'item-' || i, 1 FROM unnest(:items::int[]) WITH ORDINALITY AS m(i, n);
INSERT INTO outbox (id, type, payload, warehouse_ids)
  SELECT 'evt_pgb' || (:k::text) || '-' || n, 'inventory.stock_move.posted', jsonb_build_object('data', jsonb_build_object('id', 'sm_pgb' || (:k::text) || '-' || n)), ARRAY['WH-' || s, 'WH-' || d]
  FROM unnest(:srcs::int[], :dsts::int[]) WITH ORDINALITY AS m(s, d, n);
INSERT INTO audit_log (actor, client_id, request_id, action, entity, entity_id, warehouse_ids, after)
  SELECT 'pgbench', 'pgbench', (:k::text) || '-' || n, 'stock_move.posted', 'stock_move', 'sm_pgb' || (:k::text) || '-' || n, ARRAY['WH-' || s, 'WH-' || d], '{}'
  FROM unnest(:srcs::int[], :dsts::int[]) WITH ORDINALITY AS m(s, d, n);
UPDATE idempotency_keys SET status = 201, body = '{}'
  WHERE client_id = 'pgbench' AND sub = 'pgbench' AND operation = 'createStockMove' AND key IN (SELECT (:k::text) || '-' || n FROM generate_series(1, 32) n);
END;
