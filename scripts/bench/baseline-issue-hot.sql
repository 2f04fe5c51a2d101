-- The naive per-move transaction an ISSUE needs, every client on the same item (the hot-SKU
-- baseline of `npm run bench`): each transaction holds the item's row lock through its commit.
-- It writes what a posting writes: the level and its location level (DEFAULT), the move, its line,
-- the outbox event, the audit entry and the stored response.
SELECT md5(random()::text || clock_timestamp()::text) AS k \gset
BEGIN;
INSERT INTO idempotency_keys (client_id, sub, operation, key, fingerprint) VALUES ('pgbench', 'pgbench', 'createStockMove', :k, 'baseline');
UPDATE stock_levels SET on_hand = on_hand - 1, updated_at = now() WHERE item_id = 'item-hot' AND warehouse_id = 'WH-1' AND on_hand - reserved >= 1;
UPDATE location_levels SET on_hand = on_hand - 1, updated_at = now() WHERE item_id = 'item-hot' AND warehouse_id = 'WH-1' AND location = 'DEFAULT' AND batch = '';
INSERT INTO stock_moves (id, type, from_wh, idempotency_key, created_by) VALUES ('sm_pgb' || :k, 'ISSUE', 'WH-1', :k, 'pgbench');
INSERT INTO stock_move_lines (move_id, line_no, item_id, qty) VALUES ('sm_pgb' || :k, 1, 'item-hot', 1);
INSERT INTO outbox (id, type, payload, warehouse_ids) VALUES ('evt_pgb' || :k, 'inventory.stock_move.posted', jsonb_build_object('data', jsonb_build_object('id', 'sm_pgb' || :k)), ARRAY['WH-1']);
INSERT INTO audit_log (actor, client_id, request_id, action, entity, entity_id, warehouse_ids, after)
  VALUES ('pgbench', 'pgbench', :k, 'stock_move.posted', 'stock_move', 'sm_pgb' || :k, ARRAY['WH-1'], '{}');
UPDATE idempotency_keys SET status = 201, body = '{}' WHERE client_id = 'pgbench' AND sub = 'pgbench' AND operation = 'createStockMove' AND key = :k;
END;
