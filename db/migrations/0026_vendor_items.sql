-- Vendor items: what purchasing knows of buying one item from one vendor (its code for it, the
-- unit it sells in, its minimum order, multiple and lead time, and its price breaks). At most one
-- per (vendor, item); at most one preferred per item, which replenishment orders from. Quantities
-- (min_order_qty, order_multiple, the breaks' min_qty) are in purchase_uom (the item's own unit
-- unless another was given), prices per purchase_uom. Money and quantities are exact numerics.
CREATE TABLE vendor_items (
  id             text PRIMARY KEY,
  vendor_id      text NOT NULL REFERENCES vendors (id),
  item_id        text NOT NULL REFERENCES items (id),
  vendor_sku     text,
  purchase_uom   text NOT NULL,
  min_order_qty  numeric CHECK (min_order_qty > 0),
  order_multiple numeric CHECK (order_multiple > 0),
  lead_time_days integer NOT NULL CHECK (lead_time_days >= 0),
  currency       text NOT NULL,
  preferred      boolean NOT NULL DEFAULT false,
  active         boolean NOT NULL DEFAULT true,
  version        integer NOT NULL DEFAULT 1,
  created_at     timestamptz(3) NOT NULL DEFAULT now(),
  updated_at     timestamptz(3) NOT NULL DEFAULT now(),
  UNIQUE (vendor_id, item_id),
  -- Only an active vendor item can be the one replenishment orders from.
  CHECK (active OR NOT preferred)
);
-- The last line of defence for "one preferred per item": writers take the item's lock first
-- (db/vendor-items.ts lockItemVendorItems) and un-prefer the others in the same transaction.
CREATE UNIQUE INDEX vendor_items_one_preferred ON vendor_items (item_id) WHERE preferred;
CREATE INDEX vendor_items_by_item ON vendor_items (item_id, id);
CREATE INDEX vendor_items_updated ON vendor_items (updated_at, id);

-- Price breaks: from min_qty (in purchase units) on, unit_price applies; the applicable break of a
-- quantity is the one with the greatest min_qty not above it.
CREATE TABLE vendor_item_price_breaks (
  vendor_item_id text NOT NULL REFERENCES vendor_items (id) ON DELETE CASCADE,
  min_qty        numeric NOT NULL CHECK (min_qty > 0),
  unit_price     numeric NOT NULL CHECK (unit_price > 0),
  PRIMARY KEY (vendor_item_id, min_qty)
);
