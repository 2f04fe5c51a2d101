-- Lists kept in sync by `updated_since` walk (updated_at, id) in either direction
-- (docs/standards.md §6, db/keyset.ts): one index each, so a page reads its rows in order instead
-- of sorting every row changed since.

-- Invoices had no updated_at: recorded once and never changed, so it is their creation; from now
-- on whatever changes an invoice sets it, as on every other document.
ALTER TABLE invoices ADD COLUMN updated_at timestamptz(3);
UPDATE invoices SET updated_at = created_at;
ALTER TABLE invoices ALTER COLUMN updated_at SET NOT NULL, ALTER COLUMN updated_at SET DEFAULT now();

CREATE INDEX items_updated ON items (updated_at, id);
CREATE INDEX warehouses_updated ON warehouses (updated_at, id);
CREATE INDEX vendors_updated ON vendors (updated_at, id);
CREATE INDEX requisitions_updated ON requisitions (updated_at, id);
CREATE INDEX purchase_orders_updated ON purchase_orders (updated_at, id);
CREATE INDEX receipts_updated ON receipts (updated_at, id);
CREATE INDEX invoices_updated ON invoices (updated_at, id);
CREATE INDEX reservations_updated ON reservations (updated_at, id);

-- Stock moves by batch or serial (GET /inventory/trace, and the moves list's `batch`/`serial`
-- filters): a recall looks for a few lines among every line of the ledger.
CREATE INDEX stock_move_lines_by_batch ON stock_move_lines (item_id, batch) WHERE batch IS NOT NULL;
CREATE INDEX stock_move_lines_by_serial ON stock_move_lines USING gin (serials);
-- `reference=`: the moves of one external document, newest first as the list walks them.
CREATE INDEX stock_moves_by_reference ON stock_moves (reference, created_at DESC, id DESC) WHERE reference IS NOT NULL;
