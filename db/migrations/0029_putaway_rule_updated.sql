-- A putaway rule's location can be replaced (POST /inventory/putaway-rules on a warehouse and item
-- that has a rule): the API shows when it last changed.
ALTER TABLE putaway_rules ADD COLUMN updated_at timestamptz(3);
UPDATE putaway_rules SET updated_at = created_at;
ALTER TABLE putaway_rules ALTER COLUMN updated_at SET NOT NULL, ALTER COLUMN updated_at SET DEFAULT now();
-- GET /inventory/putaway-rules?item_id= (the unique key serves the warehouse's).
CREATE INDEX putaway_rules_by_item ON putaway_rules (item_id, warehouse_id);
