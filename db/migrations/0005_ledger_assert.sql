-- Lets a statement check what it wrote and fail its transaction as a serialization failure
-- (SQLSTATE 40001, which the server retries) when the database was not what the plan assumed.
-- Checking inside the statement, rather than in the client after it, allows the client to send
-- COMMIT without waiting for the results first (db/ledger.ts, group commit).
CREATE FUNCTION ledger_assert(ok boolean, what text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT ok THEN
    RAISE EXCEPTION USING ERRCODE = '40001', MESSAGE = 'ledger write conflict: ' || what;
  END IF;
END $$;
