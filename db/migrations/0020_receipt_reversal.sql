-- A posted receipt can be reversed once: its stock goes back out through the ledger (the reversal
-- of its stock move) and its quantities leave its order's lines. The receipt stays POSTED and
-- records when and by which move; both or neither, and only on a posted receipt. The reversal is
-- a stock move like any other, so it references stock_moves.
ALTER TABLE receipts
  ADD COLUMN reversed_at timestamptz(3),
  ADD COLUMN reversed_by_move text UNIQUE REFERENCES stock_moves (id),
  ADD CHECK ((reversed_at IS NULL) = (reversed_by_move IS NULL)),
  ADD CHECK (reversed_at IS NULL OR status = 'POSTED');
