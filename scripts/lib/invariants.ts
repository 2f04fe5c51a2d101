// Invariants 1-4, 6 and 14-16 of docs/invariants.md, checked by recomputing everything from the ledger (posted move lines)
// independently of the server's code: each query below is an oracle written from the rules, not
// from the implementation. Used by the tests (property, concurrency, seed, chaos) and after every
// benchmark. Returns human-readable violations (empty when everything holds) and how many checks ran.
import type { Sql } from '../../db/client.ts';

export interface InvariantReport {
  checks: number;
  violations: string[];
}

/**
 * Every line as legs: stock taken from a warehouse (sign -1) or put into one (+1). ISSUE takes from
 * from_wh, RECEIPT puts into to_wh, TRANSFER both, ADJUSTMENT puts (qty > 0) or takes (qty < 0) at to_wh.
 */
const LEGS = `
  SELECT l.move_id, l.item_id, l.batch, l.serials, w.warehouse_id, w.sign, w.sign * abs(l.qty) AS qty
  FROM stock_move_lines l JOIN stock_moves m ON m.id = l.move_id
  CROSS JOIN LATERAL (VALUES
    (CASE WHEN m.type IN ('ISSUE', 'TRANSFER') THEN m.from_wh WHEN m.type = 'ADJUSTMENT' AND l.qty < 0 THEN m.to_wh END, -1),
    (CASE WHEN m.type IN ('RECEIPT', 'TRANSFER') THEN m.to_wh WHEN m.type = 'ADJUSTMENT' AND l.qty > 0 THEN m.to_wh END, 1)
  ) AS w(warehouse_id, sign)
  WHERE w.warehouse_id IS NOT NULL`;

/** Invariant 1: on hand (per item and warehouse, and per batch) equals the ledger's sum, and is never negative. */
async function ledgerDrift(sql: Sql): Promise<string[]> {
  const levels = await sql.unsafe(`
    WITH ledger AS (SELECT item_id, warehouse_id, sum(qty) AS qty FROM (${LEGS}) legs GROUP BY item_id, warehouse_id)
    SELECT coalesce(s.item_id, g.item_id) AS item_id, coalesce(s.warehouse_id, g.warehouse_id) AS warehouse_id, s.on_hand, g.qty AS ledger
    FROM stock_levels s FULL JOIN ledger g ON g.item_id = s.item_id AND g.warehouse_id = s.warehouse_id
    WHERE coalesce(s.on_hand, 0) <> coalesce(g.qty, 0) OR s.on_hand < 0`);
  const batches = await sql.unsafe(`
    WITH ledger AS (SELECT item_id, warehouse_id, batch, sum(qty) AS qty FROM (${LEGS}) legs WHERE batch IS NOT NULL GROUP BY item_id, warehouse_id, batch)
    SELECT coalesce(b.item_id, g.item_id) AS item_id, coalesce(b.warehouse_id, g.warehouse_id) AS warehouse_id, coalesce(b.batch, g.batch) AS batch, b.on_hand, g.qty AS ledger
    FROM batch_levels b FULL JOIN ledger g ON g.item_id = b.item_id AND g.warehouse_id = b.warehouse_id AND g.batch = b.batch
    WHERE coalesce(b.on_hand, 0) <> coalesce(g.qty, 0) OR b.on_hand < 0`);
  return [
    ...levels.map(
      (r) => `1: ${r.item_id}@${r.warehouse_id} on hand ${r.on_hand}, ledger ${r.ledger}`,
    ),
    ...batches.map(
      (r) =>
        `1: ${r.item_id}@${r.warehouse_id} batch ${r.batch} on hand ${r.on_hand}, ledger ${r.ledger}`,
    ),
  ];
}

/** Invariant 2: stored `reserved` is the sum of ACTIVE reservations, and what counts now (unexpired) never exceeds on hand. */
async function reservationDrift(sql: Sql): Promise<string[]> {
  const rows = await sql`
    SELECT s.item_id, s.warehouse_id, s.on_hand, s.reserved,
           coalesce(sum(r.qty) FILTER (WHERE r.status = 'ACTIVE'), 0) AS active,
           coalesce(sum(r.qty) FILTER (WHERE r.status = 'ACTIVE' AND (r.expires_at IS NULL OR r.expires_at > now())), 0) AS live
    FROM stock_levels s LEFT JOIN reservations r ON r.item_id = s.item_id AND r.warehouse_id = s.warehouse_id
    GROUP BY s.item_id, s.warehouse_id, s.on_hand, s.reserved
    HAVING s.reserved <> coalesce(sum(r.qty) FILTER (WHERE r.status = 'ACTIVE'), 0) OR s.reserved > s.on_hand`;
  return rows.map(
    (r) =>
      `2: ${r.item_id}@${r.warehouse_id} reserved ${r.reserved} (ACTIVE ${r.active}, unexpired ${r.live}), on hand ${r.on_hand}`,
  );
}

/**
 * Invariant 4: replaying the serials of every line (in - out, per warehouse) puts each serial in
 * at most one place, exactly where the serials table says; a SERIAL item's on hand equals its
 * IN_STOCK serials there.
 */
async function serialDrift(sql: Sql): Promise<string[]> {
  const places = await sql.unsafe(`
    WITH ledger AS (
      SELECT item_id, serial, warehouse_id, sum(sign) AS present
      FROM (${LEGS}) legs, unnest(legs.serials) AS serial GROUP BY item_id, serial, warehouse_id
    )
    SELECT coalesce(g.item_id, s.item_id) AS item_id, coalesce(g.serial, s.serial) AS serial, coalesce(g.warehouse_id, s.warehouse_id) AS warehouse_id,
           g.present, s.status
    FROM ledger g FULL JOIN (SELECT * FROM serials WHERE status = 'IN_STOCK') s
      ON s.item_id = g.item_id AND s.serial = g.serial AND s.warehouse_id = g.warehouse_id
    WHERE coalesce(g.present, 0) NOT IN (0, 1) OR (coalesce(g.present, 0) = 1) <> (s.status IS NOT NULL)`);
  const counts = await sql`
    SELECT s.item_id, s.warehouse_id, s.on_hand, count(x.serial) AS serials
    FROM stock_levels s JOIN items i ON i.id = s.item_id AND i.track_by = 'SERIAL'
    LEFT JOIN serials x ON x.item_id = s.item_id AND x.warehouse_id = s.warehouse_id AND x.status = 'IN_STOCK'
    GROUP BY s.item_id, s.warehouse_id, s.on_hand
    HAVING s.on_hand <> count(x.serial)`;
  return [
    ...places.map(
      (r) =>
        `4: serial ${r.item_id}/${r.serial} in ${r.warehouse_id}: ledger says ${r.present ?? 0}, serials table ${r.status ?? 'not there'}`,
    ),
    ...counts.map(
      (r) =>
        `4: ${r.item_id}@${r.warehouse_id} on hand ${r.on_hand} but ${r.serials} serials in stock`,
    ),
  ];
}

/** Invariant 6: every posted move has exactly one outbox event (carrying it) and one `stock_move.posted` audit entry, and nothing else has. */
async function postingRecordDrift(sql: Sql): Promise<string[]> {
  const rows = await sql`
    WITH events AS (
      SELECT payload->'data'->>'id' AS id, count(*) AS n, min(jsonb_array_length(payload->'data'->'lines')) AS lines
      FROM outbox WHERE type = 'inventory.stock_move.posted' GROUP BY 1
    ), audits AS (
      SELECT entity_id AS id, count(*) AS n FROM audit_log WHERE action = 'stock_move.posted' GROUP BY 1
    ), moves AS (
      SELECT m.id, count(l.*) AS lines FROM stock_moves m JOIN stock_move_lines l ON l.move_id = m.id GROUP BY m.id
    )
    SELECT coalesce(m.id, e.id, a.id) AS id, m.lines, e.n AS events, e.lines AS event_lines, a.n AS audits
    FROM moves m FULL JOIN events e ON e.id = m.id FULL JOIN audits a ON a.id = coalesce(m.id, e.id)
    WHERE m.id IS NULL OR e.n IS DISTINCT FROM 1 OR a.n IS DISTINCT FROM 1 OR e.lines <> m.lines`;
  return rows.map(
    (r) =>
      `6: move ${r.id} (${r.lines ?? 'no'} lines) has ${r.events ?? 0} events (${r.event_lines} lines) and ${r.audits ?? 0} audit entries`,
  );
}

/** Invariant 3: a purchase-order line's qty_received equals its posted receipt lines (not reversed), never above the ordered qty. */
async function receivedDrift(sql: Sql): Promise<string[]> {
  const rows = await sql`
    SELECT pl.id, pl.qty, pl.qty_received, coalesce(r.received, 0) AS posted
    FROM purchase_order_lines pl
    LEFT JOIN (SELECT rl.po_line_id, sum(rl.qty_received) AS received FROM receipt_lines rl
               JOIN receipts rc ON rc.id = rl.receipt_id WHERE rc.status = 'POSTED' AND rc.reversed_at IS NULL GROUP BY 1) r ON r.po_line_id = pl.id
    WHERE pl.qty_received <> coalesce(r.received, 0) OR pl.qty_received > pl.qty`;
  return rows.map(
    (r) => `3: PO line ${r.id} received ${r.qty_received} of ${r.qty}, posted receipts ${r.posted}`,
  );
}

/** Invariant 3, returns: qty_returned is the sum of the order line's vendor return lines, within qty_received. */
async function returnedDrift(sql: Sql): Promise<string[]> {
  const rows = await sql`
    SELECT pl.id, pl.qty_received, pl.qty_returned, coalesce(r.returned, 0) AS posted
    FROM purchase_order_lines pl
    LEFT JOIN (SELECT po_line_id, sum(qty) AS returned FROM vendor_return_lines GROUP BY 1) r
      ON r.po_line_id = pl.id
    WHERE pl.qty_returned <> coalesce(r.returned, 0) OR pl.qty_returned > pl.qty_received`;
  return rows.map(
    (r) =>
      `3: PO line ${r.id} returned ${r.qty_returned} of ${r.qty_received} received, vendor returns ${r.posted}`,
  );
}

/**
 * Invariant 14: a level's incoming and undated incoming equal the open quantity (ordered, less
 * received and cancelled) of the lines of SENT orders shipping to its warehouse, all of it and the
 * part without an expected date; every (item, warehouse) with something incoming has a level.
 */
async function incomingDrift(sql: Sql): Promise<string[]> {
  const rows = await sql`
    WITH open AS (
      SELECT l.item_id, p.ship_to_warehouse_id AS warehouse_id,
        sum(l.qty - l.qty_received - l.qty_cancelled) AS incoming,
        sum(CASE WHEN l.expected_at IS NULL THEN l.qty - l.qty_received - l.qty_cancelled ELSE 0 END) AS undated
      FROM purchase_order_lines l JOIN purchase_orders p ON p.id = l.po_id
      WHERE p.status = 'SENT' AND p.ship_to_warehouse_id IS NOT NULL
      GROUP BY 1, 2)
    SELECT coalesce(s.item_id, o.item_id) AS item_id, coalesce(s.warehouse_id, o.warehouse_id) AS warehouse_id,
      s.incoming, s.undated_incoming, coalesce(o.incoming, 0) AS open, coalesce(o.undated, 0) AS undated
    FROM stock_levels s FULL JOIN open o ON o.item_id = s.item_id AND o.warehouse_id = s.warehouse_id
    WHERE s.item_id IS NULL OR s.incoming <> coalesce(o.incoming, 0)
       OR s.undated_incoming <> coalesce(o.undated, 0)`;
  return rows.map(
    (r) =>
      `14: ${r.item_id}@${r.warehouse_id} incoming ${r.incoming ?? 'no level'} (undated ${r.undated_incoming ?? '-'}), open on SENT orders ${r.open} (undated ${r.undated})`,
  );
}

/**
 * Held stock as the documents say it: per (item, warehouse, batch) and state, what RECEIPT lines
 * brought in held (to_state) less what ISSUE lines scrapped (from_state), plus what status changes
 * moved into the state less what they moved out of it.
 */
const HELD = `
  SELECT l.item_id, m.to_wh AS warehouse_id, coalesce(l.to_location, 'DEFAULT') AS location, l.batch, l.to_state AS state, l.qty
  FROM stock_move_lines l JOIN stock_moves m ON m.id = l.move_id WHERE m.type = 'RECEIPT' AND l.to_state IS NOT NULL
  UNION ALL
  SELECT l.item_id, m.from_wh, coalesce(l.from_location, 'DEFAULT'), l.batch, l.from_state, -l.qty
  FROM stock_move_lines l JOIN stock_moves m ON m.id = l.move_id WHERE m.type = 'ISSUE' AND l.from_state IS NOT NULL
  UNION ALL
  SELECT l.item_id, c.warehouse_id, coalesce(l.from_location, 'DEFAULT'), l.batch, l.to_state, l.qty
  FROM status_change_lines l JOIN status_changes c ON c.id = l.status_change_id WHERE l.to_state <> 'unrestricted'
  UNION ALL
  SELECT l.item_id, c.warehouse_id, coalesce(l.from_location, 'DEFAULT'), l.batch, l.from_state, -l.qty
  FROM status_change_lines l JOIN status_changes c ON c.id = l.status_change_id WHERE l.from_state <> 'unrestricted'`;

/**
 * Invariant 15: the held figures of every level and batch equal what the documents say (HELD);
 * every state is >= 0 and reserved fits in unrestricted stock (so the states sum to on_hand); a
 * serial item's in-stock serials of each held state number the level's figure of that state.
 */
async function heldDrift(sql: Sql): Promise<string[]> {
  const levels = await sql.unsafe(`
    WITH held AS (
      SELECT item_id, warehouse_id, sum(qty) FILTER (WHERE state = 'quality_control') AS qc, sum(qty) FILTER (WHERE state = 'damaged') AS damaged
      FROM (${HELD}) h GROUP BY 1, 2)
    SELECT coalesce(s.item_id, h.item_id) AS item_id, coalesce(s.warehouse_id, h.warehouse_id) AS warehouse_id,
      s.on_hand, s.reserved, s.quality_control, s.damaged, coalesce(h.qc, 0) AS doc_qc, coalesce(h.damaged, 0) AS doc_damaged
    FROM stock_levels s FULL JOIN held h ON h.item_id = s.item_id AND h.warehouse_id = s.warehouse_id
    WHERE coalesce(s.quality_control, 0) <> coalesce(h.qc, 0) OR coalesce(s.damaged, 0) <> coalesce(h.damaged, 0)
       OR s.quality_control < 0 OR s.damaged < 0 OR s.quality_control + s.damaged + s.reserved > s.on_hand`);
  const batches = await sql.unsafe(`
    WITH held AS (
      SELECT item_id, warehouse_id, batch, sum(qty) FILTER (WHERE state = 'quality_control') AS qc, sum(qty) FILTER (WHERE state = 'damaged') AS damaged
      FROM (${HELD}) h WHERE batch IS NOT NULL GROUP BY 1, 2, 3)
    SELECT coalesce(b.item_id, h.item_id) AS item_id, coalesce(b.warehouse_id, h.warehouse_id) AS warehouse_id, coalesce(b.batch, h.batch) AS batch,
      b.on_hand, b.quality_control, b.damaged, coalesce(h.qc, 0) AS doc_qc, coalesce(h.damaged, 0) AS doc_damaged
    FROM batch_levels b FULL JOIN held h ON h.item_id = b.item_id AND h.warehouse_id = b.warehouse_id AND h.batch = b.batch
    WHERE coalesce(b.quality_control, 0) <> coalesce(h.qc, 0) OR coalesce(b.damaged, 0) <> coalesce(h.damaged, 0)
       OR b.quality_control < 0 OR b.damaged < 0 OR b.quality_control + b.damaged > b.on_hand`);
  const serials = await sql`
    SELECT s.item_id, s.warehouse_id, s.quality_control, s.damaged,
      count(x.serial) FILTER (WHERE x.state = 'quality_control') AS qc_serials,
      count(x.serial) FILTER (WHERE x.state = 'damaged') AS damaged_serials
    FROM stock_levels s JOIN items i ON i.id = s.item_id AND i.track_by = 'SERIAL'
    LEFT JOIN serials x ON x.item_id = s.item_id AND x.warehouse_id = s.warehouse_id AND x.status = 'IN_STOCK'
    GROUP BY s.item_id, s.warehouse_id, s.quality_control, s.damaged
    HAVING s.quality_control <> count(x.serial) FILTER (WHERE x.state = 'quality_control')
        OR s.damaged <> count(x.serial) FILTER (WHERE x.state = 'damaged')`;
  return [
    ...levels.map(
      (r) =>
        `15: ${r.item_id}@${r.warehouse_id} on hand ${r.on_hand ?? 'no level'}, reserved ${r.reserved}, quality control ${r.quality_control} (documents ${r.doc_qc}), damaged ${r.damaged} (documents ${r.doc_damaged})`,
    ),
    ...batches.map(
      (r) =>
        `15: ${r.item_id}@${r.warehouse_id} batch ${r.batch} on hand ${r.on_hand ?? 'no batch level'}, quality control ${r.quality_control} (documents ${r.doc_qc}), damaged ${r.damaged} (documents ${r.doc_damaged})`,
    ),
    ...serials.map(
      (r) =>
        `15: ${r.item_id}@${r.warehouse_id} quality control ${r.quality_control}, damaged ${r.damaged}; serials in those states ${r.qc_serials}, ${r.damaged_serials}`,
    ),
  ];
}

/**
 * Every line as legs at locations: a leg names the location its line took from or put into; lines
 * posted before locations existed name none, and count at DEFAULT (where the migration put
 * everything that was on hand).
 */
const LOCATED_LEGS = `
  SELECT l.item_id, coalesce(l.batch, '') AS batch, l.serials, w.warehouse_id, w.location, w.sign * abs(l.qty) AS qty
  FROM stock_move_lines l JOIN stock_moves m ON m.id = l.move_id
  CROSS JOIN LATERAL (VALUES
    (CASE WHEN m.type IN ('ISSUE', 'TRANSFER') THEN m.from_wh WHEN m.type = 'ADJUSTMENT' AND l.qty < 0 THEN m.to_wh END,
     coalesce(l.from_location, 'DEFAULT'), -1),
    (CASE WHEN m.type IN ('RECEIPT', 'TRANSFER') THEN m.to_wh WHEN m.type = 'ADJUSTMENT' AND l.qty > 0 THEN m.to_wh END,
     coalesce(l.to_location, 'DEFAULT'), 1)
  ) AS w(warehouse_id, location, sign)
  WHERE w.warehouse_id IS NOT NULL`;

/**
 * Invariant 16: each location level's on hand equals the ledger's legs at that location; no
 * location figure is negative or holds more than it has; the locations of every (item, warehouse)
 * and batch sum to its level and batch level in every state; a serial in stock is at one location
 * of its warehouse, and a serial item's location holds as many as its serials there.
 */
async function locationDrift(sql: Sql): Promise<string[]> {
  const ledger = await sql.unsafe(`
    WITH ledger AS (
      SELECT item_id, warehouse_id, location, batch, sum(qty) AS qty FROM (${LOCATED_LEGS}) legs GROUP BY 1, 2, 3, 4)
    SELECT coalesce(ll.item_id, g.item_id) AS item_id, coalesce(ll.warehouse_id, g.warehouse_id) AS warehouse_id,
      coalesce(ll.location, g.location) AS location, coalesce(ll.batch, g.batch) AS batch, ll.on_hand, g.qty AS ledger
    FROM location_levels ll FULL JOIN ledger g
      ON (g.item_id, g.warehouse_id, g.location, g.batch) = (ll.item_id, ll.warehouse_id, ll.location, ll.batch)
    WHERE coalesce(ll.on_hand, 0) <> coalesce(g.qty, 0)
       OR ll.on_hand < 0 OR ll.quality_control < 0 OR ll.damaged < 0 OR ll.quality_control + ll.damaged > ll.on_hand`);
  // Held stock per location, from the documents (a status change holds stock where it is).
  const held = await sql.unsafe(`
    WITH held AS (
      SELECT item_id, warehouse_id, location, coalesce(batch, '') AS batch,
        coalesce(sum(qty) FILTER (WHERE state = 'quality_control'), 0) AS qc, coalesce(sum(qty) FILTER (WHERE state = 'damaged'), 0) AS damaged
      FROM (${HELD}) h GROUP BY 1, 2, 3, 4)
    SELECT coalesce(ll.item_id, h.item_id) AS item_id, coalesce(ll.warehouse_id, h.warehouse_id) AS warehouse_id,
      coalesce(ll.location, h.location) AS location, coalesce(ll.batch, h.batch) AS batch,
      ll.quality_control, ll.damaged, coalesce(h.qc, 0) AS doc_qc, coalesce(h.damaged, 0) AS doc_damaged
    FROM location_levels ll FULL JOIN held h
      ON (h.item_id, h.warehouse_id, h.location, h.batch) = (ll.item_id, ll.warehouse_id, ll.location, ll.batch)
    WHERE coalesce(ll.quality_control, 0) <> coalesce(h.qc, 0) OR coalesce(ll.damaged, 0) <> coalesce(h.damaged, 0)`);
  const sums = await sql`
    WITH per_level AS (
      SELECT item_id, warehouse_id, sum(on_hand) AS on_hand, sum(quality_control) AS qc, sum(damaged) AS damaged
      FROM location_levels GROUP BY 1, 2),
    per_batch AS (
      SELECT item_id, warehouse_id, batch, sum(on_hand) AS on_hand, sum(quality_control) AS qc, sum(damaged) AS damaged
      FROM location_levels WHERE batch <> '' GROUP BY 1, 2, 3)
    SELECT s.item_id, s.warehouse_id, NULL AS batch, s.on_hand, s.quality_control AS qc, s.damaged,
      coalesce(p.on_hand, 0) AS loc_on_hand, coalesce(p.qc, 0) AS loc_qc, coalesce(p.damaged, 0) AS loc_damaged
    FROM stock_levels s LEFT JOIN per_level p USING (item_id, warehouse_id)
    WHERE (s.on_hand, s.quality_control, s.damaged) <> (coalesce(p.on_hand, 0), coalesce(p.qc, 0), coalesce(p.damaged, 0))
    UNION ALL
    SELECT b.item_id, b.warehouse_id, b.batch, b.on_hand, b.quality_control, b.damaged,
      coalesce(p.on_hand, 0), coalesce(p.qc, 0), coalesce(p.damaged, 0)
    FROM batch_levels b LEFT JOIN per_batch p USING (item_id, warehouse_id, batch)
    WHERE (b.on_hand, b.quality_control, b.damaged) <> (coalesce(p.on_hand, 0), coalesce(p.qc, 0), coalesce(p.damaged, 0))`;
  const serials = await sql`
    SELECT coalesce(x.item_id, ll.item_id) AS item_id, coalesce(x.warehouse_id, ll.warehouse_id) AS warehouse_id,
      coalesce(x.location, ll.location) AS location, coalesce(x.n, 0) AS serials, coalesce(ll.on_hand, 0) AS on_hand
    FROM (SELECT item_id, warehouse_id, location, count(*) AS n FROM serials WHERE status = 'IN_STOCK' GROUP BY 1, 2, 3) x
    FULL JOIN (SELECT ll.* FROM location_levels ll JOIN items i ON i.id = ll.item_id AND i.track_by = 'SERIAL') ll
      ON (ll.item_id, ll.warehouse_id, ll.location) = (x.item_id, x.warehouse_id, x.location)
    WHERE coalesce(x.n, 0) <> coalesce(ll.on_hand, 0) OR x.location IS NULL AND x.n IS NOT NULL`;
  return [
    ...ledger.map(
      (r) =>
        `16: ${r.item_id}@${r.warehouse_id}/${r.location}${r.batch ? ` batch ${r.batch}` : ''} on hand ${r.on_hand ?? 'no location level'}, ledger ${r.ledger ?? 0}`,
    ),
    ...held.map(
      (r) =>
        `16: ${r.item_id}@${r.warehouse_id}/${r.location}${r.batch ? ` batch ${r.batch}` : ''} quality control ${r.quality_control ?? 0} (documents ${r.doc_qc}), damaged ${r.damaged ?? 0} (documents ${r.doc_damaged})`,
    ),
    ...sums.map(
      (r) =>
        `16: ${r.item_id}@${r.warehouse_id}${r.batch ? ` batch ${r.batch}` : ''} on hand ${r.on_hand}, quality control ${r.qc}, damaged ${r.damaged}; its locations ${r.loc_on_hand}, ${r.loc_qc}, ${r.loc_damaged}`,
    ),
    ...serials.map(
      (r) =>
        `16: ${r.item_id}@${r.warehouse_id}/${r.location ?? 'no location'}: ${r.serials} serials in stock, location on hand ${r.on_hand}`,
    ),
  ];
}

const CHECKS = [
  ledgerDrift,
  reservationDrift,
  receivedDrift,
  returnedDrift,
  serialDrift,
  postingRecordDrift,
  incomingDrift,
  heldDrift,
  locationDrift,
];

export async function checkInvariants(sql: Sql): Promise<InvariantReport> {
  const violations: string[] = [];
  for (const check of CHECKS) violations.push(...(await check(sql)));
  return { checks: CHECKS.length, violations };
}
