-- Inventory core: the stock ledger made immutable by the database itself, the shapes a posted
-- move may have, and the indexes the inventory reads filter on.

-- Posted moves and their lines are the ledger that stock levels are recomputed from. Nothing may
-- change or delete them; the only change a move ever sees is being marked REVERSED, once, with the
-- move that reversed it (a reversal is a new move, never an edit).
CREATE FUNCTION refuse_ledger_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the stock ledger is append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'restrict_violation';
END $$;

CREATE FUNCTION allow_only_reversal_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status = 'POSTED' AND NEW.status = 'REVERSED' AND OLD.reversed_by IS NULL AND NEW.reversed_by IS NOT NULL
     AND (to_jsonb(NEW) - 'status' - 'reversed_by') = (to_jsonb(OLD) - 'status' - 'reversed_by') THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'a posted stock move can only be marked REVERSED once, with reversed_by; nothing else changes'
    USING ERRCODE = 'restrict_violation';
END $$;

CREATE TRIGGER stock_move_lines_append_only BEFORE UPDATE OR DELETE ON stock_move_lines
  FOR EACH ROW EXECUTE FUNCTION refuse_ledger_change();
CREATE TRIGGER stock_move_lines_no_truncate BEFORE TRUNCATE ON stock_move_lines
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_ledger_change();
CREATE TRIGGER stock_moves_append_only BEFORE DELETE ON stock_moves
  FOR EACH ROW EXECUTE FUNCTION refuse_ledger_change();
CREATE TRIGGER stock_moves_no_truncate BEFORE TRUNCATE ON stock_moves
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_ledger_change();
CREATE TRIGGER stock_moves_only_reversal BEFORE UPDATE ON stock_moves
  FOR EACH ROW EXECUTE FUNCTION allow_only_reversal_mark();

-- Which warehouses each move type names (createStockMove in spec/openapi.yaml): ISSUE from, RECEIPT to, TRANSFER both and
-- different, ADJUSTMENT one (in to_wh) with a reason.
ALTER TABLE stock_moves ADD CONSTRAINT stock_moves_warehouses CHECK (
  CASE type
    WHEN 'ISSUE' THEN from_wh IS NOT NULL AND to_wh IS NULL
    WHEN 'RECEIPT' THEN from_wh IS NULL AND to_wh IS NOT NULL
    WHEN 'TRANSFER' THEN from_wh IS NOT NULL AND to_wh IS NOT NULL AND from_wh <> to_wh
    WHEN 'ADJUSTMENT' THEN from_wh IS NULL AND to_wh IS NOT NULL AND reason IS NOT NULL
  END);
ALTER TABLE stock_moves ADD CONSTRAINT stock_moves_reversal_status CHECK ((status = 'REVERSED') = (reversed_by IS NOT NULL));
ALTER TABLE reservations ADD CONSTRAINT reservations_consumed_by CHECK ((status = 'CONSUMED') = (consumed_by IS NOT NULL));

-- GET /inventory/stock-moves?warehouse_id=, newest first.
CREATE INDEX stock_moves_from_newest ON stock_moves (from_wh, created_at DESC, id DESC);
CREATE INDEX stock_moves_to_newest ON stock_moves (to_wh, created_at DESC, id DESC);
