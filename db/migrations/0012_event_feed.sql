-- The change feed (GET /events, docs/events.md): outbox events in commit order.
--
-- seq is taken when a transaction inserts its event, before it commits, so an event with a larger
-- seq can commit first: a reader paging by seq would pass over the smaller one for good. An
-- event's position is given after its commit instead, by the dispatcher's fan-out
-- (db/webhook-dispatch.ts), which sees committed rows only and runs one at a time across every
-- instance (it holds the lock of feed_state's row until it commits). So an event always gets a
-- larger position than every event a reader could already see, and readers page by position.
ALTER TABLE outbox ADD COLUMN position bigint;

CREATE TABLE feed_state (
  singleton       boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  -- The largest position given. A list's page.events_after is one of these, known committed
  -- before the list was read (server/plugins/feed-position.ts).
  last_position   bigint NOT NULL DEFAULT 0,
  -- Retention deletes events from the start of the feed, in position order: every position up to
  -- this one is gone, so a cursor before it may have missed events (410 cursor-expired).
  expired_through bigint NOT NULL DEFAULT 0
);

-- Events fanned out before this migration join the feed in seq order (their transactions have
-- all committed by now); the others get their positions at their fan-out.
WITH numbered AS (
  SELECT id, row_number() OVER (ORDER BY seq) AS n FROM outbox WHERE dispatched_at IS NOT NULL
)
UPDATE outbox o SET position = numbered.n FROM numbered WHERE numbered.id = o.id;
INSERT INTO feed_state (last_position) SELECT count(*) FROM outbox WHERE position IS NOT NULL;

-- An event is fanned out and positioned together; only a webhook.test event (sent to one
-- endpoint, never in the feed) is dispatched without a position. A dispatcher of an older version
-- (which would mark events dispatched without positioning them, so they would never be in the
-- feed) fails on this instead of losing them.
ALTER TABLE outbox ADD CONSTRAINT outbox_dispatched_in_feed
  CHECK (dispatched_at IS NULL OR position IS NOT NULL OR type = 'webhook.test');

-- The feed's order, and GET /events' `after`. Rows without a position (not fanned out yet, or a
-- webhook.test event, which is never in the feed) are not in it.
CREATE UNIQUE INDEX outbox_by_position ON outbox (position) WHERE position IS NOT NULL;
-- Retention finds expired rows without a position (webhook.test events) by their age.
CREATE INDEX outbox_unsequenced ON outbox (created_at) WHERE position IS NULL;
