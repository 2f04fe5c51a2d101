-- Locations inside a warehouse (bins, racks, docks). Stock on hand is kept per location as well as
-- per warehouse: a location level holds one item (and batch) at one location, with its held
-- states. Every warehouse has a location DEFAULT, where stock goes when nothing says otherwise;
-- existing warehouses get theirs here, holding all of today's stock, so clients that never name
-- a location see no change.
CREATE TABLE locations (
  id           text PRIMARY KEY,
  warehouse_id text NOT NULL REFERENCES warehouses (id),
  -- Never changes once made: posted move lines name their locations by code.
  code         text NOT NULL,
  type         text NOT NULL DEFAULT 'STORAGE' CHECK (type IN ('STORAGE', 'RECEIVING', 'SHIPPING')),
  -- Picking takes from lower pick_order first, then by code.
  pick_order   integer NOT NULL DEFAULT 0,
  active       boolean NOT NULL DEFAULT true,
  version      integer NOT NULL DEFAULT 1,
  created_at   timestamptz(3) NOT NULL DEFAULT now(),
  updated_at   timestamptz(3) NOT NULL DEFAULT now(),
  UNIQUE (warehouse_id, code),
  -- DEFAULT always takes stock: it is where stock goes when no location is named.
  CHECK (code <> 'DEFAULT' OR active)
);
CREATE INDEX locations_newest ON locations (created_at DESC, id DESC);

-- DEFAULT is made with its warehouse, by the database, whoever inserts the warehouse. Its id is
-- random hex rather than time-ordered like the server's (db/ids.ts): same prefix and length.
CREATE FUNCTION default_location_id() RETURNS text LANGUAGE sql AS $$
  SELECT 'loc_' || upper(substr(md5(random()::text || clock_timestamp()::text), 1, 26))
$$;
CREATE FUNCTION add_default_location() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO locations (id, warehouse_id, code, created_at, updated_at)
  VALUES (default_location_id(), NEW.id, 'DEFAULT', NEW.created_at, NEW.created_at);
  RETURN NULL;
END $$;
CREATE TRIGGER warehouses_default_location AFTER INSERT ON warehouses
  FOR EACH ROW EXECUTE FUNCTION add_default_location();

INSERT INTO locations (id, warehouse_id, code, created_at, updated_at)
SELECT default_location_id(), id, 'DEFAULT', created_at, created_at FROM warehouses;

-- One row per (item, warehouse, location, batch) that ever held stock there; batch is '' for
-- items not tracked by batch (so the key needs no NULL). Changed only under the lock of its
-- (item, warehouse) stock level, like batch levels.
CREATE TABLE location_levels (
  item_id         text NOT NULL,
  warehouse_id    text NOT NULL,
  location        text NOT NULL,
  batch           text NOT NULL DEFAULT '',
  on_hand         numeric NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
  quality_control numeric NOT NULL DEFAULT 0 CHECK (quality_control >= 0),
  damaged         numeric NOT NULL DEFAULT 0 CHECK (damaged >= 0),
  updated_at      timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (item_id, warehouse_id, location, batch),
  CHECK (quality_control + damaged <= on_hand),
  FOREIGN KEY (item_id, warehouse_id) REFERENCES stock_levels (item_id, warehouse_id),
  FOREIGN KEY (warehouse_id, location) REFERENCES locations (warehouse_id, code)
);
-- GET /inventory/location-levels?warehouse_id=&location=
CREATE INDEX location_levels_by_location ON location_levels (warehouse_id, location, item_id, batch);

INSERT INTO location_levels (item_id, warehouse_id, location, batch, on_hand, quality_control, damaged, updated_at)
SELECT b.item_id, b.warehouse_id, 'DEFAULT', b.batch, b.on_hand, b.quality_control, b.damaged, s.updated_at
FROM batch_levels b JOIN stock_levels s USING (item_id, warehouse_id)
WHERE b.on_hand > 0;
INSERT INTO location_levels (item_id, warehouse_id, location, batch, on_hand, quality_control, damaged, updated_at)
SELECT s.item_id, s.warehouse_id, 'DEFAULT', '', s.on_hand, s.quality_control, s.damaged, s.updated_at
FROM stock_levels s JOIN items i ON i.id = s.item_id
WHERE i.track_by <> 'BATCH' AND s.on_hand > 0;

-- Locations sum to their warehouse's figures, for every item, batch and state. Every writer of
-- stock writes its location levels last (db/ledger.ts, db/status-changes.ts), so at the end of
-- that statement the stock levels and batch levels of the same transaction are already written:
-- one set-based check over the keys the statement touched.
CREATE FUNCTION assert_locations_sum() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE bad record;
BEGIN
  SELECT k.item_id, k.warehouse_id, k.batch INTO bad
  FROM (SELECT DISTINCT item_id, warehouse_id, batch FROM changed) k
  JOIN stock_levels s USING (item_id, warehouse_id)
  LEFT JOIN batch_levels b ON k.batch <> '' AND (b.item_id, b.warehouse_id, b.batch) = (k.item_id, k.warehouse_id, k.batch)
  CROSS JOIN LATERAL (
    SELECT coalesce(sum(l.on_hand), 0) AS on_hand, coalesce(sum(l.quality_control), 0) AS quality_control,
           coalesce(sum(l.damaged), 0) AS damaged,
           coalesce(sum(l.on_hand) FILTER (WHERE l.batch = k.batch), 0) AS batch_on_hand,
           coalesce(sum(l.quality_control) FILTER (WHERE l.batch = k.batch), 0) AS batch_quality_control,
           coalesce(sum(l.damaged) FILTER (WHERE l.batch = k.batch), 0) AS batch_damaged
    FROM location_levels l WHERE (l.item_id, l.warehouse_id) = (k.item_id, k.warehouse_id)) t
  WHERE (s.on_hand, s.quality_control, s.damaged) <> (t.on_hand, t.quality_control, t.damaged)
     OR (k.batch <> '' AND (coalesce(b.on_hand, 0), coalesce(b.quality_control, 0), coalesce(b.damaged, 0))
                           <> (t.batch_on_hand, t.batch_quality_control, t.batch_damaged))
  LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'the locations of % in % (batch %) do not sum to its stock level', bad.item_id, bad.warehouse_id, nullif(bad.batch, '')
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER location_levels_sum_insert AFTER INSERT ON location_levels
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION assert_locations_sum();
CREATE TRIGGER location_levels_sum_update AFTER UPDATE ON location_levels
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION assert_locations_sum();

-- A serial in stock is at exactly one location of its warehouse.
ALTER TABLE serials ADD COLUMN location text;
UPDATE serials SET location = 'DEFAULT' WHERE status = 'IN_STOCK';
ALTER TABLE serials
  ADD CONSTRAINT serials_location CHECK ((status = 'IN_STOCK') = (location IS NOT NULL)),
  ADD CONSTRAINT serials_location_fkey FOREIGN KEY (warehouse_id, location) REFERENCES locations (warehouse_id, code);

-- Where each posted line took its stock from and put it (codes; lines posted before locations
-- existed name none). A TRANSFER may now stay in one warehouse, between two of its locations.
ALTER TABLE stock_move_lines ADD COLUMN from_location text, ADD COLUMN to_location text;
ALTER TABLE stock_moves DROP CONSTRAINT stock_moves_warehouses;
ALTER TABLE stock_moves ADD CONSTRAINT stock_moves_warehouses CHECK (
  CASE type
    WHEN 'ISSUE' THEN from_wh IS NOT NULL AND to_wh IS NULL
    WHEN 'RECEIPT' THEN from_wh IS NULL AND to_wh IS NOT NULL
    WHEN 'TRANSFER' THEN from_wh IS NOT NULL AND to_wh IS NOT NULL
    WHEN 'ADJUSTMENT' THEN from_wh IS NULL AND to_wh IS NOT NULL AND reason IS NOT NULL
  END);

-- The documents whose lines may name locations, as their requests gave them.
ALTER TABLE receipt_lines ADD COLUMN to_location text;
ALTER TABLE vendor_return_lines ADD COLUMN from_location text;
ALTER TABLE status_change_lines ADD COLUMN from_location text, ADD COLUMN to_location text;

-- Putaway: where a receipt (or any stock coming in) of an item goes in a warehouse when its line
-- names no location. Without a rule, DEFAULT.
CREATE TABLE putaway_rules (
  id           text PRIMARY KEY,
  warehouse_id text NOT NULL REFERENCES warehouses (id),
  item_id      text NOT NULL REFERENCES items (id),
  location     text NOT NULL,
  created_by   text NOT NULL,
  created_at   timestamptz(3) NOT NULL DEFAULT now(),
  UNIQUE (warehouse_id, item_id),
  FOREIGN KEY (warehouse_id, location) REFERENCES locations (warehouse_id, code)
);
CREATE INDEX putaway_rules_newest ON putaway_rules (created_at DESC, id DESC);
