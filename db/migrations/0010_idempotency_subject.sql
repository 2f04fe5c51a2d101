-- Idempotency keys belong to (client_id, sub, operation) (docs/standards.md §4): two users of one
-- client never share a key, and a stored answer records the warehouses claim it was made with
-- (NULL: unrestricted), so that it is replayed only to a caller whose claim covers it. Rows stored
-- before get the subject '' (no token has an empty sub), which server/writes/idempotency.ts still
-- honours for their client until they expire, and no claim: only unrestricted callers replay them.
ALTER TABLE idempotency_keys
  ADD COLUMN sub text NOT NULL DEFAULT '',
  ADD COLUMN warehouses text[];
ALTER TABLE idempotency_keys ALTER COLUMN sub DROP DEFAULT;
ALTER TABLE idempotency_keys
  DROP CONSTRAINT idempotency_keys_pkey,
  ADD PRIMARY KEY (client_id, sub, operation, key);
