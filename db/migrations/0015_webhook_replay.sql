-- What replaying webhooks from a feed cursor reads (POST /webhooks/endpoints/{id}/replay): an
-- event's position in the feed, and how far the feed has been pruned. The change feed's own
-- migration (0012) creates both; this one only makes sure they exist, so it runs the same after
-- 0012 as without it.
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS position bigint;

CREATE TABLE IF NOT EXISTS feed_state (
  singleton       boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  last_position   bigint NOT NULL DEFAULT 0,
  expired_through bigint NOT NULL DEFAULT 0
);
INSERT INTO feed_state DEFAULT VALUES ON CONFLICT DO NOTHING;
