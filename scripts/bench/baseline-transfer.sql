-- The naive per-move transaction a TRANSFER needs, for pgbench (the baseline of `npm run bench`):
-- idempotency row, conditional decrement of the source, upsert of the destination, the same for
-- their location levels (DEFAULT), move, line, outbox event, audit entry, stored response. Uniform over 10,000 items and 3 warehouses.
\set item random(1, 10000)
\set src random(1, 3)
\set dst (:src % 3) + 1
SELECT md5(random()::text || clock_timestamp()::text) AS k \gset
BEGIN;
INSERT INTO idempotency_keys (client_id, sub, operation, key, fingerprint) VALUES ('pgbench', 'pgbench', 'createStockMove', :k, 'baseline');
UPDATE stock_levels SET on_hand = on_hand - 1, updated_at = now() WHERE item_id = 'item-' || :item AND warehouse_id = 'WH-' || :src AND on_hand - reserved >= 1;
INSERT INTO stock_levels (item_id, warehouse_id, on_hand) VALUES ('item-' || :item, 'WH-' || :dst, 1)
  ON CONFLICT (item_id, warehouse_id) DO UPDATE SET on_hand = stock_levels.on_hand + 1, updated_at = now();
UPDATE location_levels SET on_hand = on_hand - 1, updated_at = now() WHERE item_id = 'item-' || :item AND warehouse_id = 'WH-' || :src AND location = 'DEFAULT' AND batch = '';
INSERT INTO location_levels (item_id, warehouse_id, location, on_hand) VALUES ('item-' || :item, 'WH-' || :dst, 'DEFAULT', 1)
  ON CONFLICT (item_id, warehouse_id, location, batch) DO UPDATE SET on_hand = location_levels.on_hand + 1, updated_at = now();
INSERT INTO stock_moves (id, type, from_wh, to_wh, idempotency_key, created_by) VALUES ('sm_pgb' || :k, 'TRANSFER', 'WH-' || :src, 'WH-' || :dst, :k, 'pgbench');
INSERT INTO stock_move_lines (move_id, line_no, item_id, qty) VALUES ('sm_pgb' || :k, 1, 'item-' || :item, 1);
INSERT INTO outbox (id, type, payload, warehouse_ids) VALUES ('evt_pgb' || :k, 'inventory.stock_move.posted', jsonb_build_object('data', jsonb_build_object('id', 'sm_pgb' || :k)), ARRAY['WH-' || :src, 'WH-' || :dst]);
INSERT INTO audit_log (actor, client_id, request_id, action, entity, entity_id, warehouse_ids, after)
  VALUES ('pgbench', 'pgbench', :k, 'stock_move.posted', 'stock_move', 'sm_pgb' || :k, ARRAY['WH-' || :src, 'WH-' || :dst], '{}');
UPDATE idempotency_keys SET status = 201, body = '{}' WHERE client_id = 'pgbench' AND sub = 'pgbench' AND operation = 'createStockMove' AND key = :k;
END;
