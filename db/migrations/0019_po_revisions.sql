-- Change orders: a SENT order's lines can be revised with the vendor's agreement. Each revision is
-- kept with who made it, why, and what it changed, line by line; the order's `revision` counts
-- them (1 at creation, so a history row's revision is always 2 or more).
CREATE TABLE purchase_order_revisions (
  po_id    text NOT NULL REFERENCES purchase_orders (id) ON DELETE CASCADE,
  revision integer NOT NULL CHECK (revision >= 2),
  at       timestamptz(3) NOT NULL DEFAULT now(),
  actor    text NOT NULL,
  reason   text NOT NULL CHECK (reason <> ''),
  changes  jsonb NOT NULL,
  PRIMARY KEY (po_id, revision)
);

-- When the vendor is expected to deliver a line; optional.
ALTER TABLE purchase_order_lines ADD COLUMN expected_at date;

-- Who last changed the order's terms (a PUT in DRAFT, a revision): separation of duties refuses
-- them its approval, as it refuses the creator. Null until such a change.
ALTER TABLE purchase_orders ADD COLUMN updated_by text;
