-- Held stock states. Stock on hand is in one of three states: unrestricted (the rest), in quality
-- control, or damaged. Only unrestricted stock can be reserved, issued, transferred or picked
-- (FEFO); `available` is unrestricted stock less what is reserved. Unrestricted is not stored: it
-- is on_hand - quality_control - damaged, so the states always sum to on_hand, and the CHECK below
-- keeps it (and what is reserved of it) from going negative.
ALTER TABLE stock_levels
  ADD COLUMN quality_control numeric NOT NULL DEFAULT 0 CHECK (quality_control >= 0),
  ADD COLUMN damaged numeric NOT NULL DEFAULT 0 CHECK (damaged >= 0),
  ADD CONSTRAINT stock_levels_states_check CHECK (quality_control + damaged + reserved <= on_hand);

-- A batch keeps its state: the same held figures per batch level.
ALTER TABLE batch_levels
  ADD COLUMN quality_control numeric NOT NULL DEFAULT 0 CHECK (quality_control >= 0),
  ADD COLUMN damaged numeric NOT NULL DEFAULT 0 CHECK (damaged >= 0),
  ADD CONSTRAINT batch_levels_states_check CHECK (quality_control + damaged <= on_hand);

-- A serial has one state; an ISSUED serial keeps the one it left in (scrapped damaged, say).
ALTER TABLE serials
  ADD COLUMN state text NOT NULL DEFAULT 'unrestricted'
    CHECK (state IN ('unrestricted', 'quality_control', 'damaged'));

-- A move line's held state: the state an ISSUE line scrapped from, or a RECEIPT line brought its
-- stock into; null is unrestricted (every other line). A reversal takes it back the same way.
ALTER TABLE stock_move_lines
  ADD COLUMN from_state text CHECK (from_state IN ('quality_control', 'damaged')),
  ADD COLUMN to_state text CHECK (to_state IN ('quality_control', 'damaged'));

-- A receipt line may bring its goods into quality control; a draft keeps that until it is posted.
ALTER TABLE receipt_lines
  ADD COLUMN to_state text CHECK (to_state IN ('quality_control', 'damaged'));

-- Status changes: a document of their own (not a stock move), moving quantities between states
-- within one warehouse.
CREATE TABLE status_changes (
  id              text PRIMARY KEY,
  warehouse_id    text NOT NULL REFERENCES warehouses (id),
  reason          text NOT NULL,
  idempotency_key text,
  created_by      text NOT NULL,
  created_at      timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX status_changes_newest ON status_changes (created_at DESC, id DESC);
CREATE INDEX status_changes_by_warehouse ON status_changes (warehouse_id, created_at DESC, id DESC);

CREATE TABLE status_change_lines (
  status_change_id text NOT NULL REFERENCES status_changes (id),
  line_no          int NOT NULL,
  item_id          text NOT NULL REFERENCES items (id),
  qty              numeric NOT NULL CHECK (qty > 0),
  from_state       text NOT NULL CHECK (from_state IN ('unrestricted', 'quality_control', 'damaged')),
  to_state         text NOT NULL CHECK (to_state IN ('unrestricted', 'quality_control', 'damaged')),
  batch            text,
  serials          text[] NOT NULL DEFAULT '{}',
  PRIMARY KEY (status_change_id, line_no),
  CHECK (from_state <> to_state)
);
