// What must hold after a chaos run, checked against the database: every acknowledged request's
// effect is present exactly once, no key executed twice (invariant 5), and invariants 1-4 and 6
// of docs/invariants.md hold.
import type { Test } from 'tap';
import type { Sql } from '../../db/client.ts';
import { checkInvariants } from '../../scripts/lib/invariants.ts';
import type { Attempted, LoadStats } from './load.ts';

export async function verifyAfterChaos(
  t: Test,
  sql: Sql,
  attempted: Attempted[],
  stats: LoadStats,
  faults: string,
): Promise<void> {
  const moves =
    await sql`SELECT id, idempotency_key FROM stock_moves WHERE idempotency_key IS NOT NULL`;
  const movesByKey = new Map<string, string[]>();
  for (const m of moves)
    movesByKey.set(m.idempotency_key, [...(movesByKey.get(m.idempotency_key) ?? []), m.id]);
  const reservations = new Set((await sql`SELECT id FROM reservations`).map((r) => r.id));
  // A posted receipt's stock move carries the request's key, so "executed once" is checked like a move's.
  const receiptMoves = new Map(
    (await sql`SELECT id, stock_move_id FROM receipts`).map((r) => [r.id, r.stock_move_id]),
  );

  let executedTwice = 0;
  let lostAcks = 0;
  for (const a of attempted) {
    if (a.operation === 'move' || a.operation === 'receipt') {
      const ids = movesByKey.get(a.key) ?? [];
      if (ids.length > 1) executedTwice++;
      const effect = a.operation === 'move' ? a.id : receiptMoves.get(a.id!);
      if (a.status !== null && a.status < 300 && !(ids.length === 1 && ids[0] === effect))
        lostAcks++;
    } else if (a.status !== null && a.status < 300 && !reservations.has(a.id!)) lostAcks++;
  }
  // Reservations carry no key: every row must be the answer to exactly one acknowledged request
  // (the load creates every reservation, and every request was settled, replays included).
  const acknowledgedReservations = new Set(
    attempted
      .filter((a) => a.operation === 'reservation' && a.status !== null && a.status < 300)
      .map((a) => a.id),
  );
  executedTwice += [...reservations].filter((id) => !acknowledgedReservations.has(id)).length;
  const unsettled = attempted.filter((a) => a.status === null).length;
  t.equal(executedTwice, 0, 'no Idempotency-Key executed twice');
  t.equal(lostAcks, 0, 'every acknowledged request is present, exactly once');
  t.equal(unsettled, 0, 'every request got a definitive answer in the end');
  const report = await checkInvariants(sql);
  t.strictSame(report.violations, [], 'every invariant holds');
  const counts = new Map<string, number>();
  for (const a of attempted) counts.set(a.operation, (counts.get(a.operation) ?? 0) + 1);
  const byOperation = [...counts].map(([operation, n]) => `${n} ${operation}s`).join(', ');
  t.comment(
    `${stats.attempts} requests sent (${attempted.length} distinct: ${byOperation}; ${stats.retried} retries, ${stats.networkErrors} network errors, ` +
      `5xx ${JSON.stringify(stats.serverErrors)}), ${stats.acknowledged} acknowledged, ${stats.refused} refused; ` +
      `faults: ${faults}; ${report.checks} invariant checks, ${report.violations.length} violations`,
  );
}
