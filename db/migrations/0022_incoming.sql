-- Incoming stock: what SENT purchase orders still have open for a warehouse they ship to, kept on
-- its stock level. A line's open quantity is qty - qty_received - qty_cancelled; a DRAFT counts
-- nowhere, a RECEIVED or CLOSED order has nothing open, and an order without a ship-to warehouse
-- counts nowhere. `undated_incoming` is the part on lines without an expected date.
ALTER TABLE stock_levels
  ADD COLUMN incoming numeric NOT NULL DEFAULT 0,
  ADD COLUMN undated_incoming numeric NOT NULL DEFAULT 0,
  ADD CONSTRAINT stock_levels_incoming_check
    CHECK (incoming >= 0 AND undated_incoming >= 0 AND undated_incoming <= incoming);

-- The database keeps the figures exact, so that no code path changing an order or its lines can
-- forget them: after each statement on purchase_order_lines or purchase_orders, the change of
-- open quantity it made is added to the levels, in the same transaction. A statement on lines
-- sees its order as it is (no statement changes both); a statement on orders sees their lines as
-- they are. The levels are changed in (item_id, warehouse_id) order, the order the ledger locks
-- them in; the caller has locked the order row before (every writer of an order does).
CREATE FUNCTION incoming_apply(deltas jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  -- The existing levels, locked in key order, then changed; a CHECK is evaluated on a row an
  -- INSERT proposes before ON CONFLICT applies, so decreases only ever go through UPDATE.
  -- Only levels that change: an order settling with nothing open locks none.
  PERFORM 1 FROM stock_levels s
  WHERE (s.item_id, s.warehouse_id) IN (
    SELECT item_id, warehouse_id
    FROM jsonb_to_recordset(deltas) AS d(item_id text, warehouse_id text, incoming numeric, undated numeric)
    GROUP BY item_id, warehouse_id
    HAVING sum(incoming) <> 0 OR sum(undated) <> 0)
  ORDER BY s.item_id, s.warehouse_id
  FOR UPDATE;
  WITH d AS (
    SELECT item_id, warehouse_id, sum(incoming) AS incoming, sum(undated) AS undated
    FROM jsonb_to_recordset(deltas) AS x(item_id text, warehouse_id text, incoming numeric, undated numeric)
    GROUP BY item_id, warehouse_id
    HAVING sum(incoming) <> 0 OR sum(undated) <> 0),
  changed AS (
    UPDATE stock_levels s SET incoming = s.incoming + d.incoming, undated_incoming = s.undated_incoming + d.undated
    FROM d WHERE s.item_id = d.item_id AND s.warehouse_id = d.warehouse_id
    RETURNING s.item_id, s.warehouse_id)
  -- A level that did not exist had nothing incoming: only increases are left for it.
  INSERT INTO stock_levels AS s (item_id, warehouse_id, incoming, undated_incoming)
  SELECT d.item_id, d.warehouse_id, d.incoming, d.undated FROM d
  WHERE NOT EXISTS (SELECT 1 FROM changed c WHERE c.item_id = d.item_id AND c.warehouse_id = d.warehouse_id)
  ORDER BY d.item_id, d.warehouse_id
  ON CONFLICT (item_id, warehouse_id) DO UPDATE
    SET incoming = s.incoming + excluded.incoming,
        undated_incoming = s.undated_incoming + excluded.undated_incoming;
END $$;

CREATE FUNCTION po_lines_incoming() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  deltas jsonb;
BEGIN
  -- Each branch names only the transition tables its trigger has.
  IF TG_OP = 'INSERT' THEN
    SELECT jsonb_agg(jsonb_build_object('item_id', l.item_id, 'warehouse_id', p.ship_to_warehouse_id,
        'incoming', l.qty - l.qty_received - l.qty_cancelled,
        'undated', CASE WHEN l.expected_at IS NULL THEN l.qty - l.qty_received - l.qty_cancelled ELSE 0 END))
      INTO deltas
      FROM new_lines l JOIN purchase_orders p ON p.id = l.po_id
      WHERE p.status = 'SENT' AND p.ship_to_warehouse_id IS NOT NULL;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT jsonb_agg(jsonb_build_object('item_id', l.item_id, 'warehouse_id', p.ship_to_warehouse_id,
        'incoming', -(l.qty - l.qty_received - l.qty_cancelled),
        'undated', CASE WHEN l.expected_at IS NULL THEN -(l.qty - l.qty_received - l.qty_cancelled) ELSE 0 END))
      INTO deltas
      FROM old_lines l JOIN purchase_orders p ON p.id = l.po_id
      WHERE p.status = 'SENT' AND p.ship_to_warehouse_id IS NOT NULL;
  ELSE
    SELECT jsonb_agg(jsonb_build_object('item_id', l.item_id, 'warehouse_id', p.ship_to_warehouse_id,
        'incoming', l.sign * (l.qty - l.qty_received - l.qty_cancelled),
        'undated', CASE WHEN l.expected_at IS NULL THEN l.sign * (l.qty - l.qty_received - l.qty_cancelled) ELSE 0 END))
      INTO deltas
      FROM (SELECT 1 AS sign, * FROM new_lines UNION ALL SELECT -1, * FROM old_lines) l
      JOIN purchase_orders p ON p.id = l.po_id
      WHERE p.status = 'SENT' AND p.ship_to_warehouse_id IS NOT NULL;
  END IF;
  IF deltas IS NOT NULL THEN
    PERFORM incoming_apply(deltas);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER po_lines_incoming_insert AFTER INSERT ON purchase_order_lines
  REFERENCING NEW TABLE AS new_lines FOR EACH STATEMENT EXECUTE FUNCTION po_lines_incoming();
CREATE TRIGGER po_lines_incoming_update AFTER UPDATE ON purchase_order_lines
  REFERENCING OLD TABLE AS old_lines NEW TABLE AS new_lines FOR EACH STATEMENT EXECUTE FUNCTION po_lines_incoming();
CREATE TRIGGER po_lines_incoming_delete AFTER DELETE ON purchase_order_lines
  REFERENCING OLD TABLE AS old_lines FOR EACH STATEMENT EXECUTE FUNCTION po_lines_incoming();

-- An order starts or stops counting when its status or ship-to warehouse changes.
CREATE FUNCTION purchase_orders_incoming() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  deltas jsonb;
BEGIN
  SELECT jsonb_agg(jsonb_build_object('item_id', l.item_id, 'warehouse_id', o.ship_to_warehouse_id,
      'incoming', o.sign * (l.qty - l.qty_received - l.qty_cancelled),
      'undated', CASE WHEN l.expected_at IS NULL THEN o.sign * (l.qty - l.qty_received - l.qty_cancelled) ELSE 0 END))
    INTO deltas
    FROM (SELECT 1 AS sign, n.id, n.status, n.ship_to_warehouse_id FROM new_orders n
            JOIN old_orders b ON b.id = n.id
           WHERE (n.status, n.ship_to_warehouse_id) IS DISTINCT FROM (b.status, b.ship_to_warehouse_id)
          UNION ALL
          SELECT -1, b.id, b.status, b.ship_to_warehouse_id FROM old_orders b
            JOIN new_orders n ON n.id = b.id
           WHERE (n.status, n.ship_to_warehouse_id) IS DISTINCT FROM (b.status, b.ship_to_warehouse_id)) o
    JOIN purchase_order_lines l ON l.po_id = o.id
    WHERE o.status = 'SENT' AND o.ship_to_warehouse_id IS NOT NULL;
  IF deltas IS NOT NULL THEN
    PERFORM incoming_apply(deltas);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER purchase_orders_incoming AFTER UPDATE ON purchase_orders
  REFERENCING OLD TABLE AS old_orders NEW TABLE AS new_orders FOR EACH STATEMENT EXECUTE FUNCTION purchase_orders_incoming();

-- Orders already SENT count from now on; a level is created at zero stock where none exists.
INSERT INTO stock_levels AS s (item_id, warehouse_id, incoming, undated_incoming)
SELECT l.item_id, p.ship_to_warehouse_id, sum(l.qty - l.qty_received - l.qty_cancelled),
       sum(CASE WHEN l.expected_at IS NULL THEN l.qty - l.qty_received - l.qty_cancelled ELSE 0 END)
FROM purchase_order_lines l JOIN purchase_orders p ON p.id = l.po_id
WHERE p.status = 'SENT' AND p.ship_to_warehouse_id IS NOT NULL
GROUP BY l.item_id, p.ship_to_warehouse_id
ORDER BY l.item_id, p.ship_to_warehouse_id
ON CONFLICT (item_id, warehouse_id) DO UPDATE
  SET incoming = excluded.incoming, undated_incoming = excluded.undated_incoming;

-- The availability timeline reads the open lines of one item's SENT orders by date.
CREATE INDEX purchase_order_lines_by_item ON purchase_order_lines (item_id, po_id);
