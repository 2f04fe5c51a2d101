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
ALTER TABLE stock_move_lines
  ADD COLUMN uom text,
  ADD COLUMN uom_qty numeric CHECK (uom_qty <> 0),
  ADD CHECK ((uom IS NULL) = (uom_qty IS NULL));
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
