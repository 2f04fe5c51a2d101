-- A level's stored `reserved` counts every ACTIVE reservation until a writer (lockLevels) or the
-- sweeper expires the due ones; reads subtract those still counted, and writers expire them. Both
-- find them per level here, touching only the due ones whatever the number of ACTIVE reservations
-- the level holds (reservations_active would read them all).
CREATE INDEX reservations_due_by_level ON reservations (item_id, warehouse_id, expires_at)
  WHERE status = 'ACTIVE' AND expires_at IS NOT NULL;
