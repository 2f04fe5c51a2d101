-- Units of measure. Stock is kept in the item's own `uom` (the stock unit); an item may name other
-- units it is bought, counted or moved in, each an exact ratio: 1 `uom` = numerator/denominator
-- stock units (positive integers, so the ratio is exact where a decimal factor such as 0.3048
-- or 1/12 is not). `integral` items are only ever held in whole stock units.
-- The API validates the array's members (handlers/items.ts); the CHECK keeps it an array.
ALTER TABLE items
  ADD COLUMN uom_conversions jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(uom_conversions) = 'array'),
  ADD COLUMN integral boolean NOT NULL DEFAULT false;

-- A line given in another unit keeps what was given (`uom`, `uom_qty`, and for priced lines the
-- price per that unit) next to its `qty` in stock units, which is what every rule and the ledger
-- read: these columns are only echoed.
-- The ledger's own lines are append-only (refuse_ledger_change), and a line is written before the
-- unit it was given in is known to fit it (FEFO may split it): a move line's unit is a row of its
-- own, inserted with the move.
CREATE TABLE stock_move_line_units (
  move_id text NOT NULL,
  line_no integer NOT NULL,
  uom     text NOT NULL,
  uom_qty numeric NOT NULL CHECK (uom_qty <> 0),
  -- No foreign key: written only with its line, in the same transaction (handlers/stock-moves.ts).
  PRIMARY KEY (move_id, line_no)
);
ALTER TABLE purchase_order_lines
  ADD COLUMN uom text,
  ADD COLUMN uom_qty numeric CHECK (uom_qty > 0),
  ADD COLUMN uom_unit_price numeric CHECK (uom_unit_price > 0),
  ADD CHECK ((uom IS NULL) = (uom_qty IS NULL)),
  ADD CHECK (uom IS NOT NULL OR uom_unit_price IS NULL);
ALTER TABLE requisition_lines
  ADD COLUMN uom text,
  ADD COLUMN uom_qty numeric CHECK (uom_qty > 0),
  ADD COLUMN uom_unit_price numeric CHECK (uom_unit_price > 0),
  ADD CHECK ((uom IS NULL) = (uom_qty IS NULL)),
  ADD CHECK (uom IS NOT NULL OR uom_unit_price IS NULL);
ALTER TABLE receipt_lines
  ADD COLUMN uom text,
  ADD COLUMN uom_qty numeric CHECK (uom_qty > 0),
  ADD CHECK ((uom IS NULL) = (uom_qty IS NULL));
ALTER TABLE vendor_return_lines
  ADD COLUMN uom text,
  ADD COLUMN uom_qty numeric CHECK (uom_qty > 0),
  ADD CHECK ((uom IS NULL) = (uom_qty IS NULL));
ALTER TABLE invoice_lines
  ADD COLUMN uom text,
  ADD COLUMN uom_qty numeric CHECK (uom_qty > 0),
  ADD COLUMN uom_unit_price numeric CHECK (uom_unit_price > 0),
  ADD CHECK ((uom IS NULL) = (uom_qty IS NULL)),
  ADD CHECK (uom IS NOT NULL OR uom_unit_price IS NULL);
