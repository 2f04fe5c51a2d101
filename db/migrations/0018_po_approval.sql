-- Who approved an order above its currency's threshold, and when. Both or neither: a change to
-- the order clears them together.
ALTER TABLE purchase_orders
  ADD COLUMN approved_by text,
  ADD COLUMN approved_at timestamptz,
  ADD CHECK ((approved_by IS NULL) = (approved_at IS NULL));
