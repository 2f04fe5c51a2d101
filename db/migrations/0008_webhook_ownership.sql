-- Webhook endpoints belong to the client that made them and keep the warehouses claim of the
-- token that made them; events carry the warehouses they concern, so the fan-out sends an
-- endpoint only what that claim may see (docs/webhooks.md, "Who sees what";
-- docs/standards.md §8).

ALTER TABLE webhook_endpoints
  -- The client_id of the token that made it; only that client's tokens manage it. Null: no
  -- client is known (see below), and no token sees it.
  ADD COLUMN owner_client_id text,
  -- The creator's `warehouses` claim, sorted; null when the creator was unrestricted. Never
  -- empty: a token with an empty claim may not create endpoints (handlers/webhook-endpoints.ts),
  -- as one would receive nothing and any restricted token of its client would manage it.
  ADD COLUMN warehouses text[]
    CONSTRAINT webhook_endpoints_warehouses_not_empty CHECK (cardinality(warehouses) > 0);

-- Every list of endpoints is one client's now.
DROP INDEX webhook_endpoints_by_creation;
CREATE INDEX webhook_endpoints_by_owner ON webhook_endpoints (owner_client_id, created_at, id);

-- An endpoint made before this migration is owned by the client of its creation's audit entry
-- (written in the creation's own transaction). Its creator's warehouses claim was never
-- recorded, so it stays unrestricted (warehouses null): it goes on receiving what it received
-- before, and only an unrestricted token of its client manages it (docs/webhooks.md says how an
-- operator finds and reviews these).
UPDATE webhook_endpoints e SET owner_client_id = created.client_id
FROM (
  SELECT DISTINCT ON (entity_id) entity_id, client_id FROM audit_log
  WHERE entity = 'webhook_endpoint' AND action = 'webhook_endpoint.created'
  ORDER BY entity_id, id
) created
WHERE created.entity_id = e.id;

-- Audit entries of an endpoint are shown to its owner's tokens only, and name that owner
-- themselves: not the acting client (before this migration any client could rotate or delete any
-- endpoint, so an entry's client_id may be an intruder's), nor the owner an entry's snapshot
-- shows (older snapshots show none). Set by the application for every entry of
-- entity = 'webhook_endpoint' (db/audit.ts), null for other entities; null for an endpoint entry
-- means no owner is known and no token sees it.
ALTER TABLE audit_log ADD COLUMN owner_client_id text;

-- Existing entries: the endpoint's owner as found above, or, for an endpoint deleted since, the
-- client of its creation entry. Neither known: null, seen by no token.
UPDATE audit_log a SET owner_client_id = owner.client_id
FROM (
  SELECT ids.entity_id, coalesce(
    (SELECT e.owner_client_id FROM webhook_endpoints e WHERE e.id = ids.entity_id),
    (SELECT c.client_id FROM audit_log c
     WHERE c.entity = 'webhook_endpoint' AND c.action = 'webhook_endpoint.created' AND c.entity_id = ids.entity_id
     ORDER BY c.id LIMIT 1)) AS client_id
  FROM (SELECT DISTINCT entity_id FROM audit_log WHERE entity = 'webhook_endpoint') ids
) owner
WHERE a.entity = 'webhook_endpoint' AND a.entity_id = owner.entity_id AND owner.client_id IS NOT NULL;

-- An endpoint without a creation entry (the audit log was pruned) has no owner: no token can
-- rotate its secret or delete it, so it must not go on receiving events either. It is disabled
-- as a 410 would disable it, its pending deliveries fail, and the audit log says why. An
-- operator who knows its owner sets owner_client_id (and active) by hand.
WITH disabled AS (
  UPDATE webhook_endpoints
  SET active = false, version = version + 1, updated_at = now(),
      disabled_reason = 'disabled by migration 0008: no client could be found as its owner'
  WHERE owner_client_id IS NULL AND active
  RETURNING id, disabled_reason
), failed AS (
  UPDATE webhook_deliveries d
  SET status = 'FAILED', next_attempt_at = NULL, lease_token = NULL, updated_at = now(),
      last_error = 'not attempted: ' || disabled.disabled_reason
  FROM disabled
  WHERE d.endpoint_id = disabled.id AND d.status = 'PENDING'
)
-- The endpoint has no owner, so neither has the entry (owner_client_id null): no token sees it,
-- whatever its client or sub ('system' included). An operator who gives the endpoint an owner
-- gives its entries that owner too (docs/webhooks.md).
INSERT INTO audit_log (actor, client_id, request_id, action, entity, entity_id, after, owner_client_id)
SELECT 'migration', 'system', '0008_webhook_ownership', 'webhook_endpoint.disabled', 'webhook_endpoint', id,
       jsonb_build_object('id', id, 'active', false, 'disabled_reason', disabled_reason), NULL
FROM disabled;

-- The warehouses an event concerns (db/outbox.ts, warehousesOf): the fan-out compares them
-- with each endpoint's claim. Events of no warehouse reach unrestricted endpoints only.
ALTER TABLE outbox ADD COLUMN warehouse_ids text[] NOT NULL DEFAULT '{}';

-- Events that may still be sent (not fanned out yet, or with a delivery not yet succeeded) get
-- their warehouses, in the column and in the body (`warehouse_ids`, as new events have it).
-- Events delivered everywhere keep '{}': nothing reads it again, and rewriting the whole outbox
-- would block postings for as long.
WITH sendable AS (
  SELECT o.id, ARRAY(
    SELECT DISTINCT w FROM unnest(CASE o.type
      WHEN 'inventory.stock_move.posted' THEN ARRAY[o.payload->'data'->>'from_wh', o.payload->'data'->>'to_wh']
      WHEN 'inventory.receipt.posted' THEN ARRAY[o.payload->'data'->>'warehouse_id']
      ELSE '{}'::text[] END) AS w
    WHERE w IS NOT NULL ORDER BY w) AS ids
  FROM outbox o
  WHERE o.dispatched_at IS NULL
     OR EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = o.id AND d.status <> 'SUCCEEDED')
)
UPDATE outbox o
SET warehouse_ids = sendable.ids,
    payload = o.payload || jsonb_build_object('warehouse_ids', to_jsonb(sendable.ids))
FROM sendable
WHERE sendable.id = o.id;
