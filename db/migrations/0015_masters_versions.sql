-- Warehouses and vendors become replaceable (PUT with If-Match), so they carry a version as items
-- do; the rows already there start at version 1. Vendors get their own 3-way match tolerances:
-- null price_tolerance falls back to the server-wide INVOICE_PRICE_TOLERANCE, null qty_tolerance
-- means none. Fractions of the PO price and of the received quantity.
ALTER TABLE warehouses ADD COLUMN version integer NOT NULL DEFAULT 1;

ALTER TABLE vendors
  ADD COLUMN version integer NOT NULL DEFAULT 1,
  ADD COLUMN price_tolerance numeric CHECK (price_tolerance BETWEEN 0 AND 1),
  ADD COLUMN qty_tolerance numeric CHECK (qty_tolerance BETWEEN 0 AND 1);
