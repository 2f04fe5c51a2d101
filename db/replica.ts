// What a read replica is worth asking, read on the replica itself: whether it is a standby, how far
// its replay lags behind what it has received from the primary, and the feed position it shows.
import type { Db } from './client.ts';

export interface ReplicaState {
  /** False on a server that is not (or no longer) a standby: a promoted one has left the primary. */
  standby: boolean;
  /**
   * How old the newest replayed transaction is, in milliseconds, while the standby has received
   * WAL it has not replayed yet; 0 when it has replayed all it received (an idle primary sends
   * nothing, and the last replayed transaction's age would then count time, not lag).
   */
  lagMs: number;
  /** feed_state.last_position as replayed: every change up to it is visible there. */
  position: string;
}

export async function replicaState(db: Db): Promise<ReplicaState> {
  const [row] = await db<{ standby: boolean; lag_ms: number; position: string }[]>`
    SELECT pg_is_in_recovery() AS standby,
           CASE WHEN NOT pg_is_in_recovery()
                  OR pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn()
                THEN 0
                ELSE coalesce(1000 * extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 0)
           END::float8 AS lag_ms,
           (SELECT last_position::text FROM feed_state) AS position`;
  return { standby: row.standby, lagMs: Math.max(0, row.lag_ms), position: row.position };
}
