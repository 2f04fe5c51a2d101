-- Procurement documents belong to warehouses, so that warehouse-restricted tokens see only their
-- own (docs/standards.md §3): a purchase order to the warehouse it ships to, a requisition to the
-- warehouses its lines name. Receipts already have one; invoices belong to their order's.

-- Optional in every status: an order with none is unassigned, visible to unrestricted tokens only.
ALTER TABLE purchase_orders ADD COLUMN ship_to_warehouse_id text REFERENCES warehouses (id);

ALTER TABLE requisition_lines ADD COLUMN warehouse_id text REFERENCES warehouses (id);

-- Existing orders ship to the warehouse all their receipts (pending ones included) went to; those
-- received into several warehouses, or not received at all, stay unassigned. An order's receipts
-- must from now on go to its warehouse, which this keeps true for every order it assigns.
UPDATE purchase_orders p SET ship_to_warehouse_id = r.warehouse_id
FROM (
  SELECT po_id, min(warehouse_id) AS warehouse_id FROM receipts
  GROUP BY po_id HAVING count(DISTINCT warehouse_id) = 1
) r
WHERE p.id = r.po_id;

-- Lists of a restricted token filter on these (db/listing.ts); built once the backfill above has
-- written the column, rather than updated row by row by it.
CREATE INDEX purchase_orders_by_ship_to ON purchase_orders (ship_to_warehouse_id, created_at DESC, id DESC)
  WHERE ship_to_warehouse_id IS NOT NULL;
CREATE INDEX requisition_lines_by_warehouse ON requisition_lines (warehouse_id, requisition_id)
  WHERE warehouse_id IS NOT NULL;

-- Audit entries of the orders just assigned, and of their invoices, name the warehouse too, as
-- new entries will: restricted tokens see a procurement document's entries through it.
UPDATE audit_log a SET warehouse_ids = ARRAY[p.ship_to_warehouse_id]
FROM purchase_orders p
WHERE a.entity = 'purchase_order' AND a.entity_id = p.id
  AND p.ship_to_warehouse_id IS NOT NULL AND cardinality(a.warehouse_ids) = 0;

UPDATE audit_log a SET warehouse_ids = ARRAY[p.ship_to_warehouse_id]
FROM invoices i JOIN purchase_orders p ON p.id = i.po_id
WHERE a.entity = 'invoice' AND a.entity_id = i.id
  AND p.ship_to_warehouse_id IS NOT NULL AND cardinality(a.warehouse_ids) = 0;

-- Receipt entries written before this migration embed their order's match, which restricted
-- tokens now read through the receipt's warehouse. An order left unassigned is for unrestricted
-- tokens only, so its match goes from its receipts' entries, as new entries leave it out.
UPDATE audit_log a SET before = a.before - 'match', after = a.after - 'match'
FROM receipts r JOIN purchase_orders p ON p.id = r.po_id
WHERE a.entity = 'receipt' AND a.entity_id = r.id
  AND p.ship_to_warehouse_id IS NULL
  AND (a.before ? 'match' OR a.after ? 'match');

-- Events not yet fanned out go to the endpoints that exist when they are, restricted ones made
-- after this migration included: an unassigned order's match leaves them too.
UPDATE outbox o SET payload = o.payload #- '{data,match}'
FROM purchase_orders p
WHERE o.type = 'inventory.receipt.posted' AND o.dispatched_at IS NULL
  AND p.id = o.payload->'data'->>'po_id' AND p.ship_to_warehouse_id IS NULL
  AND o.payload->'data' ? 'match';

-- Separation of duties (docs/standards.md §3): a requisition is not approved by whoever created it
-- or last replaced its lines, besides its requester. requester_id is now always the creating
-- token's subject, but requisitions from before could name someone else: their creator is the
-- actor of their creation entry, else (the entry pruned) the requester. The last to replace the
-- lines is the actor of the newest update entry.
ALTER TABLE requisitions ADD COLUMN created_by text, ADD COLUMN updated_by text;

UPDATE requisitions r SET
  created_by = coalesce(
    (SELECT a.actor FROM audit_log a
     WHERE a.entity = 'requisition' AND a.entity_id = r.id AND a.action = 'requisition.created'
     ORDER BY a.id LIMIT 1),
    r.requester_id),
  updated_by = (SELECT a.actor FROM audit_log a
                WHERE a.entity = 'requisition' AND a.entity_id = r.id AND a.action = 'requisition.updated'
                ORDER BY a.id DESC LIMIT 1);

ALTER TABLE requisitions ALTER COLUMN created_by SET NOT NULL;
