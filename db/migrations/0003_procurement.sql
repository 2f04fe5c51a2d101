-- Procurement: vendors, requisitions, purchase orders, receipts and vendor invoices.
-- Money is numeric (exact; selected as text), quantities numeric. Mutable documents carry
-- `version` (their ETag). The constraints here are the last line of defence for invariant 3
-- (a PO line is never received beyond its ordered quantity) and for unique document numbers.

CREATE TABLE vendors (
  id         text PRIMARY KEY,
  name       text NOT NULL,
  currency   text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  email      text,
  active     boolean NOT NULL DEFAULT true,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  updated_at timestamptz(3) NOT NULL DEFAULT now()
);

CREATE TABLE requisitions (
  id           text PRIMARY KEY,
  requester_id text NOT NULL,
  status       text NOT NULL DEFAULT 'DRAFT' CHECK (status IN ('DRAFT', 'APPROVED', 'ORDERED')),
  notes        text,
  approved_by  text,
  approved_at  timestamptz(3),
  version      integer NOT NULL DEFAULT 1,
  created_at   timestamptz(3) NOT NULL DEFAULT now(),
  updated_at   timestamptz(3) NOT NULL DEFAULT now(),
  CHECK ((status = 'DRAFT') = (approved_by IS NULL))
);
CREATE INDEX requisitions_newest ON requisitions (created_at DESC, id DESC);

CREATE TABLE requisition_lines (
  id             text PRIMARY KEY,
  requisition_id text NOT NULL REFERENCES requisitions (id) ON DELETE CASCADE,
  line_no        integer NOT NULL,
  item_id        text NOT NULL REFERENCES items (id),
  qty            numeric NOT NULL CHECK (qty > 0),
  vendor_id      text REFERENCES vendors (id),
  unit_price     numeric CHECK (unit_price > 0),
  needed_by      date,
  UNIQUE (requisition_id, line_no)
);

-- Generated purchase order numbers (PO-000042). A sequence never hands out a value twice, even
-- to concurrent transactions; the unique index below still guards against client-chosen numbers.
CREATE SEQUENCE purchase_order_number_seq;

CREATE TABLE purchase_orders (
  id             text PRIMARY KEY,
  number         text NOT NULL,
  vendor_id      text NOT NULL REFERENCES vendors (id),
  currency       text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  status         text NOT NULL DEFAULT 'DRAFT' CHECK (status IN ('DRAFT', 'SENT', 'RECEIVED', 'CLOSED')),
  notes          text,
  requisition_id text REFERENCES requisitions (id),
  version        integer NOT NULL DEFAULT 1,
  created_by     text NOT NULL,
  created_at     timestamptz(3) NOT NULL DEFAULT now(),
  updated_at     timestamptz(3) NOT NULL DEFAULT now()
);
-- Numbers differing only in case would be the same number to a human (as for SKUs). Two creations
-- racing with one number: the second waits for the first to commit, then conflicts.
CREATE UNIQUE INDEX purchase_orders_number_key ON purchase_orders (lower(number));
CREATE INDEX purchase_orders_newest ON purchase_orders (created_at DESC, id DESC);
CREATE INDEX purchase_orders_by_vendor ON purchase_orders (vendor_id, created_at DESC, id DESC);
CREATE INDEX purchase_orders_by_requisition ON purchase_orders (requisition_id) WHERE requisition_id IS NOT NULL;

CREATE TABLE purchase_order_lines (
  id           text PRIMARY KEY,
  po_id        text NOT NULL REFERENCES purchase_orders (id) ON DELETE CASCADE,
  line_no      integer NOT NULL,
  item_id      text NOT NULL REFERENCES items (id),
  qty          numeric NOT NULL CHECK (qty > 0),
  unit_price   numeric NOT NULL CHECK (unit_price > 0),
  -- Kept equal to the sum of posted receipt lines by the posting transaction (invariant 3).
  qty_received numeric NOT NULL DEFAULT 0 CHECK (qty_received >= 0),
  qty_invoiced numeric NOT NULL DEFAULT 0 CHECK (qty_invoiced >= 0),
  UNIQUE (po_id, line_no),
  CHECK (qty_received <= qty)
);
CREATE INDEX purchase_order_lines_by_po ON purchase_order_lines (po_id, id);

CREATE TABLE receipts (
  id            text PRIMARY KEY,
  po_id         text NOT NULL REFERENCES purchase_orders (id),
  warehouse_id  text NOT NULL REFERENCES warehouses (id),
  status        text NOT NULL CHECK (status IN ('PENDING', 'POSTED')),
  stock_move_id text UNIQUE REFERENCES stock_moves (id),
  posted_at     timestamptz(3),
  version       integer NOT NULL DEFAULT 1,
  created_by    text NOT NULL,
  created_at    timestamptz(3) NOT NULL DEFAULT now(),
  updated_at    timestamptz(3) NOT NULL DEFAULT now(),
  -- A posted receipt always names the stock move that brought its goods in, and only then.
  CHECK ((status = 'POSTED') = (stock_move_id IS NOT NULL AND posted_at IS NOT NULL))
);
CREATE INDEX receipts_newest ON receipts (created_at DESC, id DESC);
CREATE INDEX receipts_by_po ON receipts (po_id);

CREATE TABLE receipt_lines (
  receipt_id   text NOT NULL REFERENCES receipts (id) ON DELETE CASCADE,
  line_no      integer NOT NULL,
  po_line_id   text NOT NULL REFERENCES purchase_order_lines (id),
  item_id      text NOT NULL REFERENCES items (id),
  qty_received numeric NOT NULL CHECK (qty_received > 0),
  batch        text,
  expires_at   timestamptz(3),
  serials      text[] NOT NULL DEFAULT '{}',
  PRIMARY KEY (receipt_id, line_no)
);
CREATE INDEX receipt_lines_by_po_line ON receipt_lines (po_line_id);

-- Vendor invoices are immutable records; their match result is computed once, when recorded.
CREATE TABLE invoices (
  id           text PRIMARY KEY,
  vendor_id    text NOT NULL REFERENCES vendors (id),
  po_id        text NOT NULL REFERENCES purchase_orders (id),
  number       text NOT NULL,
  currency     text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  match_status text NOT NULL CHECK (match_status IN ('MATCHED', 'EXCEPTION')),
  created_by   text NOT NULL,
  created_at   timestamptz(3) NOT NULL DEFAULT now()
);
-- An invoice number is unique per vendor (vendors number their own invoices).
CREATE UNIQUE INDEX invoices_vendor_number_key ON invoices (vendor_id, lower(number));
CREATE INDEX invoices_newest ON invoices (created_at DESC, id DESC);
CREATE INDEX invoices_by_po ON invoices (po_id);

CREATE TABLE invoice_lines (
  invoice_id text NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
  line_no    integer NOT NULL,
  po_line_id text NOT NULL REFERENCES purchase_order_lines (id),
  qty        numeric NOT NULL CHECK (qty > 0),
  unit_price numeric NOT NULL CHECK (unit_price > 0),
  status     text NOT NULL CHECK (status IN ('MATCHED', 'EXCEPTION')),
  reasons    jsonb NOT NULL DEFAULT '[]',
  PRIMARY KEY (invoice_id, line_no)
);
CREATE INDEX invoice_lines_by_po_line ON invoice_lines (po_line_id);

-- Money as the API writes it: at most 6 decimals, at least 2 ("7.90", "-0.40", "0.123456").
CREATE FUNCTION money_text(v numeric) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT round(round(v, 6), greatest(2, scale(trim_scale(round(v, 6)))))::text $$;

-- The 3-way match's price rule, in one place and in exact decimal arithmetic: a unit price is
-- outside tolerance when it differs from the PO price by more than `tolerance` (a fraction) of it.
CREATE FUNCTION price_outside_tolerance(price numeric, po_price numeric, tolerance numeric) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT abs(price - po_price) > tolerance * po_price $$;
