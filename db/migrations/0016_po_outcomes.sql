-- What became of each ordered quantity, and why an order was closed. A line's quantity is
-- received, cancelled or still open; nothing is ever both received and cancelled, so the two
-- together never exceed what was ordered. Returns go back out of what was received.
ALTER TABLE purchase_order_lines
  ADD COLUMN qty_cancelled numeric NOT NULL DEFAULT 0 CHECK (qty_cancelled >= 0),
  ADD COLUMN qty_returned  numeric NOT NULL DEFAULT 0 CHECK (qty_returned >= 0),
  ADD CHECK (qty_received + qty_cancelled <= qty),
  ADD CHECK (qty_returned <= qty_received);

ALTER TABLE purchase_orders
  -- Change orders will count up from here.
  ADD COLUMN revision integer NOT NULL DEFAULT 1 CHECK (revision >= 1),
  ADD COLUMN closed_reason text CHECK (closed_reason IN ('COMPLETED', 'CANCELLED', 'SHORT_CLOSED'));

-- Orders closed before this migration dropped their open remainder without recording it: record
-- it now as cancelled, so that every closed order accounts for its whole quantity.
UPDATE purchase_order_lines l SET qty_cancelled = l.qty - l.qty_received
FROM purchase_orders p
WHERE p.id = l.po_id AND p.status = 'CLOSED' AND l.qty_received < l.qty;

UPDATE purchase_orders p SET closed_reason = CASE
    WHEN NOT EXISTS (SELECT 1 FROM purchase_order_lines l WHERE l.po_id = p.id AND l.qty_received > 0) THEN 'CANCELLED'
    WHEN NOT EXISTS (SELECT 1 FROM purchase_order_lines l WHERE l.po_id = p.id AND l.qty_cancelled > 0) THEN 'COMPLETED'
    ELSE 'SHORT_CLOSED' END,
  -- Their representation changed: a client's cached copy must not be confirmed by a 304.
  version = version + 1
WHERE p.status = 'CLOSED';

ALTER TABLE purchase_orders ADD CHECK ((status = 'CLOSED') = (closed_reason IS NOT NULL));
