-- Nothing looks outbox rows up by seq except through outbox_undispatched (the dispatcher's order),
-- and the sequence alone makes seq unique. The unique index cost every event two index entries:
-- when its posting inserted it, and again when the dispatcher marked it dispatched (that update
-- cannot be HOT, since dispatched_at decides membership of outbox_undispatched).
ALTER TABLE outbox DROP CONSTRAINT outbox_seq_key;
