-- The reservation sweeper (server/reservations/) looks for due ACTIVE reservations every few
-- seconds; without this it would read every ACTIVE reservation each time.
CREATE INDEX reservations_due ON reservations (expires_at) WHERE status = 'ACTIVE' AND expires_at IS NOT NULL;
