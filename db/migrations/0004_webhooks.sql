-- Webhooks (docs/standards.md §8): endpoints partners subscribe, and one delivery per (endpoint, event)
-- fanned out from the outbox by the dispatcher (server/webhooks/).

CREATE TABLE webhook_endpoints (
  id                         text PRIMARY KEY,
  url                        text NOT NULL,
  description                text,
  events                     text[] NOT NULL CHECK (cardinality(events) > 0),
  -- 'whsec_' + base64; the HMAC key is the decoded part. Kept readable because every delivery
  -- signs with it (a hash would not do); never returned after creation or rotation.
  secret                     text NOT NULL,
  -- After a rotation the old secret keeps signing (a second signature) until the expiry, so a
  -- receiver can switch over without rejecting events.
  previous_secret            text,
  previous_secret_expires_at timestamptz(3),
  -- False once the receiver answered 410 Gone; disabled_reason says when and why.
  active                     boolean NOT NULL DEFAULT true,
  disabled_reason            text,
  version                    integer NOT NULL DEFAULT 1,
  created_at                 timestamptz(3) NOT NULL DEFAULT now(),
  updated_at                 timestamptz(3) NOT NULL DEFAULT now(),
  CHECK ((previous_secret IS NULL) = (previous_secret_expires_at IS NULL))
);
CREATE INDEX webhook_endpoints_by_creation ON webhook_endpoints (created_at, id);

CREATE TABLE webhook_deliveries (
  id               text PRIMARY KEY,
  -- Deleting an endpoint drops its deliveries, pending ones included (the API promises that).
  endpoint_id      text NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  event_id         text NOT NULL REFERENCES outbox (id),
  event_type       text NOT NULL,
  status           text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'SUCCEEDED', 'FAILED')),
  -- Attempts started (a claim counts one, even if the instance then crashed).
  attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_status_code integer,
  last_error       text,
  -- When PENDING: when the next attempt is due. While an attempt is in flight this is the end of
  -- the claim's lease, so the delivery comes due again by itself if its instance dies.
  next_attempt_at  timestamptz(3) DEFAULT now(),
  -- Set by the claim of the instance attempting it; results are only recorded by the lease holder.
  lease_token      text,
  created_at       timestamptz(3) NOT NULL DEFAULT now(),
  updated_at       timestamptz(3) NOT NULL DEFAULT now(),
  -- The fan-out is idempotent: an event reaches an endpoint through exactly one delivery row.
  UNIQUE (endpoint_id, event_id),
  CHECK ((status = 'PENDING') = (next_attempt_at IS NOT NULL))
);
-- What the dispatcher claims: due PENDING deliveries per endpoint, oldest due first.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (endpoint_id, next_attempt_at) WHERE status = 'PENDING';
CREATE INDEX webhook_deliveries_next_due ON webhook_deliveries (next_attempt_at) WHERE status = 'PENDING';
-- GET /webhooks/deliveries, newest first, optionally per endpoint (the unique key leads with endpoint_id
-- but is ordered by event id, not creation).
CREATE INDEX webhook_deliveries_newest ON webhook_deliveries (created_at DESC, id DESC);
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, created_at DESC, id DESC);
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (event_id);
