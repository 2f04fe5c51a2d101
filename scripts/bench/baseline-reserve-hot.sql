-- The naive per-reservation transaction, every client on the same item (the baseline of
-- reserve-hot in `npm run bench`): each transaction holds the item's row lock through its commit.
-- It writes what a reservation writes: the idempotency row, the level's reserved (if what is
-- available allows), the reservation (ACTIVE, 1 unit, no expiry), the outbox event, the audit
-- entry and the stored response.
SELECT md5(random()::text || clock_timestamp()::text) AS k \gset
BEGIN;
INSERT INTO idempotency_keys (client_id, sub, operation, key, fingerprint) VALUES ('pgbench', 'pgbench', 'createReservation', :k, 'baseline');
UPDATE stock_levels SET reserved = reserved + 1, updated_at = now() WHERE item_id = 'item-hot' AND warehouse_id = 'WH-1' AND on_hand - reserved - quality_control - damaged >= 1;
INSERT INTO reservations (id, item_id, warehouse_id, qty, status, created_by) VALUES ('res_pgb' || :k, 'item-hot', 'WH-1', 1, 'ACTIVE', 'pgbench');
INSERT INTO outbox (id, type, payload, warehouse_ids) VALUES ('evt_pgb' || :k, 'inventory.reservation.created', jsonb_build_object('data', jsonb_build_object('id', 'res_pgb' || :k)), ARRAY['WH-1']);
INSERT INTO audit_log (actor, client_id, request_id, action, entity, entity_id, warehouse_ids, after)
  VALUES ('pgbench', 'pgbench', :k, 'reservation.created', 'reservation', 'res_pgb' || :k, ARRAY['WH-1'], '{}');
UPDATE idempotency_keys SET status = 201, body = '{}' WHERE client_id = 'pgbench' AND sub = 'pgbench' AND operation = 'createReservation' AND key = :k;
END;
