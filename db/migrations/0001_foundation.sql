-- Foundation: catalogue, stock ledger tables, and the cross-cutting tables every posting writes
-- (idempotency record, outbox event, audit entry) in the same transaction as its effect.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Server-wide secrets shared by every instance (e.g. the cursor signing key).
CREATE TABLE app_secrets (
  name  text PRIMARY KEY,
  value bytea NOT NULL
);

CREATE TABLE warehouses (
  id         text PRIMARY KEY,
  name       text NOT NULL,
  active     boolean NOT NULL DEFAULT true,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  updated_at timestamptz(3) NOT NULL DEFAULT now()
);

CREATE TABLE items (
  id         text PRIMARY KEY,
  sku        text NOT NULL,
  name       text NOT NULL,
  uom        text NOT NULL,
  track_by   text NOT NULL CHECK (track_by IN ('BATCH', 'SERIAL', 'NONE')),
  active     boolean NOT NULL DEFAULT true,
  version    integer NOT NULL DEFAULT 1,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  updated_at timestamptz(3) NOT NULL DEFAULT now()
);
-- SKUs differing only in case would be the same SKU to a human.
CREATE UNIQUE INDEX items_sku_key ON items (lower(sku));
-- Substring search on sku or name (GET /inventory/items?search=).
CREATE INDEX items_search_trgm ON items USING gin ((lower(sku) || ' ' || lower(name)) gin_trgm_ops);

-- One row per (item, warehouse) that ever held stock. The CHECKs make negative stock and
-- over-reservation impossible even if application code were wrong.
CREATE TABLE stock_levels (
  item_id      text NOT NULL REFERENCES items (id),
  warehouse_id text NOT NULL REFERENCES warehouses (id),
  on_hand      numeric NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
  reserved     numeric NOT NULL DEFAULT 0 CHECK (reserved >= 0),
  updated_at   timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (item_id, warehouse_id),
  CHECK (reserved <= on_hand)
);
CREATE INDEX stock_levels_by_warehouse ON stock_levels (warehouse_id, item_id);

CREATE TABLE batch_levels (
  item_id      text NOT NULL,
  warehouse_id text NOT NULL,
  batch        text NOT NULL,
  on_hand      numeric NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
  expires_at   timestamptz(3),
  PRIMARY KEY (item_id, warehouse_id, batch),
  FOREIGN KEY (item_id, warehouse_id) REFERENCES stock_levels (item_id, warehouse_id)
);

-- A serial is IN_STOCK in exactly one warehouse or ISSUED (nowhere); the primary key makes
-- "in at most one place" structural.
CREATE TABLE serials (
  item_id      text NOT NULL REFERENCES items (id),
  serial       text NOT NULL,
  warehouse_id text REFERENCES warehouses (id),
  status       text NOT NULL CHECK (status IN ('IN_STOCK', 'ISSUED')),
  updated_at   timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (item_id, serial),
  CHECK ((status = 'IN_STOCK') = (warehouse_id IS NOT NULL))
);
CREATE INDEX serials_by_warehouse ON serials (warehouse_id, item_id, serial);

CREATE TABLE stock_moves (
  id              text PRIMARY KEY,
  type            text NOT NULL CHECK (type IN ('ISSUE', 'RECEIPT', 'TRANSFER', 'ADJUSTMENT')),
  status          text NOT NULL DEFAULT 'POSTED' CHECK (status IN ('POSTED', 'REVERSED')),
  from_wh         text REFERENCES warehouses (id),
  to_wh           text REFERENCES warehouses (id),
  reason          text,
  reference       text,
  idempotency_key text,
  reverses        text UNIQUE REFERENCES stock_moves (id),
  reversed_by     text REFERENCES stock_moves (id),
  receipt_id      text,
  created_by      text NOT NULL,
  created_at      timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX stock_moves_newest ON stock_moves (created_at DESC, id DESC);

CREATE TABLE stock_move_lines (
  move_id          text NOT NULL REFERENCES stock_moves (id),
  line_no          integer NOT NULL,
  item_id          text NOT NULL REFERENCES items (id),
  qty              numeric NOT NULL CHECK (qty <> 0),
  batch            text,
  expires_at       timestamptz(3),
  serials          text[] NOT NULL DEFAULT '{}',
  reservation_id   text,
  expected_on_hand numeric,
  PRIMARY KEY (move_id, line_no)
);
CREATE INDEX stock_move_lines_by_item ON stock_move_lines (item_id);

CREATE TABLE reservations (
  id           text PRIMARY KEY,
  item_id      text NOT NULL,
  warehouse_id text NOT NULL,
  qty          numeric NOT NULL CHECK (qty > 0),
  status       text NOT NULL CHECK (status IN ('ACTIVE', 'CONSUMED', 'RELEASED', 'EXPIRED')),
  expires_at   timestamptz(3),
  reference    text,
  consumed_by  text REFERENCES stock_moves (id),
  created_by   text NOT NULL,
  created_at   timestamptz(3) NOT NULL DEFAULT now(),
  updated_at   timestamptz(3) NOT NULL DEFAULT now(),
  FOREIGN KEY (item_id, warehouse_id) REFERENCES stock_levels (item_id, warehouse_id)
);
CREATE INDEX reservations_active ON reservations (item_id, warehouse_id) WHERE status = 'ACTIVE';
CREATE INDEX reservations_newest ON reservations (created_at DESC, id DESC);

-- docs/standards.md §4. A row is inserted first in the request's transaction; a concurrent duplicate
-- blocks on the primary key until the first commits, then replays its stored response.
CREATE TABLE idempotency_keys (
  client_id   text NOT NULL,
  operation   text NOT NULL,
  key         text NOT NULL,
  fingerprint text NOT NULL,
  status      integer,
  headers     jsonb,
  body        jsonb,
  created_at  timestamptz(3) NOT NULL DEFAULT now(),
  expires_at  timestamptz(3) NOT NULL DEFAULT now() + interval '24 hours',
  PRIMARY KEY (client_id, operation, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

-- Transactional outbox: one row per event, committed with the posting that caused it.
CREATE TABLE outbox (
  id            text PRIMARY KEY,
  seq           bigserial UNIQUE,
  type          text NOT NULL,
  payload       jsonb NOT NULL,
  created_at    timestamptz(3) NOT NULL DEFAULT now(),
  dispatched_at timestamptz(3)
);
CREATE INDEX outbox_undispatched ON outbox (seq) WHERE dispatched_at IS NULL;

CREATE TABLE audit_log (
  id            bigserial PRIMARY KEY,
  at            timestamptz(3) NOT NULL DEFAULT now(),
  actor         text NOT NULL,
  client_id     text NOT NULL,
  request_id    text NOT NULL,
  action        text NOT NULL,
  entity        text NOT NULL,
  entity_id     text NOT NULL,
  -- Warehouses the change concerns, so warehouse-restricted tokens see only their entries.
  warehouse_ids text[] NOT NULL DEFAULT '{}',
  before        jsonb,
  after         jsonb
);
CREATE INDEX audit_log_by_entity ON audit_log (entity, entity_id, id DESC);
