-- Reorder rules and replenishment runs (docs/replenishment.md). A rule says how much of an item a
-- warehouse should hold, in stock units; a run is a snapshot of what to order, computed for all
-- its rules by one statement (db/replenishment.ts), kept with the figures it was worked out from.
CREATE TABLE reorder_rules (
  id           text PRIMARY KEY,
  item_id      text NOT NULL REFERENCES items (id),
  warehouse_id text NOT NULL REFERENCES warehouses (id),
  policy       text NOT NULL CHECK (policy IN ('MIN_MAX', 'REORDER_POINT')),
  min_qty      numeric NOT NULL CHECK (min_qty >= 0),
  max_qty      numeric CHECK (max_qty > 0),
  reorder_qty  numeric CHECK (reorder_qty > 0),
  version      integer NOT NULL DEFAULT 1,
  created_at   timestamptz(3) NOT NULL DEFAULT now(),
  updated_at   timestamptz(3) NOT NULL DEFAULT now(),
  UNIQUE (item_id, warehouse_id),
  -- Each policy has its quantity, and only it.
  CHECK (policy <> 'MIN_MAX' OR (max_qty >= min_qty AND reorder_qty IS NULL)),
  CHECK (policy <> 'REORDER_POINT' OR (reorder_qty IS NOT NULL AND max_qty IS NULL))
);
CREATE INDEX reorder_rules_by_warehouse ON reorder_rules (warehouse_id, id);
CREATE INDEX reorder_rules_updated ON reorder_rules (updated_at, id);

CREATE TABLE replenishment_runs (
  id               text PRIMARY KEY,
  -- null: every warehouse (an unassigned run, seen by unrestricted tokens only).
  warehouse_id     text REFERENCES warehouses (id),
  suggestion_count integer NOT NULL DEFAULT 0 CHECK (suggestion_count >= 0),
  created_by       text NOT NULL,
  created_at       timestamptz(3) NOT NULL DEFAULT now()
);

-- A suggestion keeps the figures it was made from (basis), so it explains itself after the stock,
-- the rule or the vendor item changed. rule_id has no foreign key: a rule may be deleted since.
CREATE TABLE replenishment_suggestions (
  id             text PRIMARY KEY,
  run_id         text NOT NULL REFERENCES replenishment_runs (id),
  rule_id        text NOT NULL,
  item_id        text NOT NULL REFERENCES items (id),
  warehouse_id   text NOT NULL REFERENCES warehouses (id),
  vendor_id      text REFERENCES vendors (id),
  qty            numeric NOT NULL CHECK (qty > 0),
  uom            text NOT NULL,
  uom_qty        numeric NOT NULL CHECK (uom_qty > 0),
  unit_price     numeric CHECK (unit_price > 0),
  currency       text,
  needed_by      date,
  policy         text NOT NULL,
  on_hand        numeric NOT NULL,
  reserved       numeric NOT NULL,
  held           numeric NOT NULL,
  incoming       numeric NOT NULL,
  on_order       numeric NOT NULL,
  min_qty        numeric NOT NULL,
  max_qty        numeric,
  reorder_qty    numeric,
  -- The requisition it went on (POST .../requisition); one at most.
  requisition_id text REFERENCES requisitions (id)
);
CREATE INDEX replenishment_suggestions_by_run ON replenishment_suggestions (run_id, id);

-- What is on order for a level (open DRAFT orders, APPROVED requisitions), looked up per level by
-- a run.
CREATE INDEX purchase_orders_drafts ON purchase_orders (id) WHERE status = 'DRAFT';
CREATE INDEX requisitions_approved ON requisitions (id) WHERE status = 'APPROVED';
