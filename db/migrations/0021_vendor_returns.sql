-- Vendor returns: goods received against a purchase order that go back to the vendor. A return is
-- posted as it is made, by one ISSUE stock move out of its warehouse, and never changes after; its
-- lines add to their order lines' qty_returned, which the CHECK of 0016 keeps within qty_received.
CREATE TABLE vendor_returns (
  id            text PRIMARY KEY,
  po_id         text NOT NULL REFERENCES purchase_orders (id),
  warehouse_id  text NOT NULL REFERENCES warehouses (id),
  reason        text NOT NULL,
  -- The move that took the goods out: one per return, and no move belongs to two.
  stock_move_id text NOT NULL UNIQUE REFERENCES stock_moves (id),
  created_by    text NOT NULL,
  created_at    timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX vendor_returns_newest ON vendor_returns (created_at DESC, id DESC);
CREATE INDEX vendor_returns_by_po ON vendor_returns (po_id);
-- Lists of a restricted token filter on the warehouse (db/vendor-returns.ts).
CREATE INDEX vendor_returns_by_warehouse ON vendor_returns (warehouse_id, created_at DESC, id DESC);

CREATE TABLE vendor_return_lines (
  vendor_return_id text NOT NULL REFERENCES vendor_returns (id),
  line_no          integer NOT NULL,
  po_line_id       text NOT NULL REFERENCES purchase_order_lines (id),
  item_id          text NOT NULL REFERENCES items (id),
  qty              numeric NOT NULL CHECK (qty > 0),
  batch            text,
  serials          text[] NOT NULL DEFAULT '{}',
  PRIMARY KEY (vendor_return_id, line_no)
);
CREATE INDEX vendor_return_lines_by_po_line ON vendor_return_lines (po_line_id);
