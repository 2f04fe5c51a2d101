// Lists served from PostgreSQL streaming replicas (DATABASE_REPLICA_URL, docs/deploy.md "Read
// replicas for lists"). One pool per replica host; a list goes to the next replica, round robin,
// that its last probe found fit: reachable, still a standby, and (with DATABASE_REPLICA_MAX_LAG_MS)
// not lagging more than that. None fit, or the one chosen failing for want of the replica, the
// list is read on the primary instead: a replica never fails a request the primary can answer.
import type { FastifyBaseLogger } from 'fastify';
import { Counter, Gauge, type Registry } from 'prom-client';
import { isRetryable, isUnavailable, type Sql } from '../db/client.ts';
import { replicaState } from '../db/replica.ts';

/** How often each replica is probed; a replica's lag is known this late, at most. */
export const PROBE_MS = 1_000;
/** A probe not answered by then counts as a failure (a replica that hangs rather than refuses). */
const PROBE_TIMEOUT_MS = 2_000;

export interface ReplicaPool {
  /** host:port, for logs and metrics. */
  name: string;
  /** Where lists are read. */
  sql: Sql;
  /**
   * One connection of its own for the probe: behind the lists queued on `sql` under load, a probe
   * would time out and take a replica that is well out of service.
   */
  probeSql: Sql;
}

export interface Replica extends Omit<ReplicaPool, 'probeSql'> {
  /** Its feed position as of its last probe: every change up to it was visible there then. */
  position: string;
}

interface ReplicaStatus extends ReplicaPool, Replica {
  /** Whether lists may go there; undefined until its first probe (they may not). */
  usable: boolean | undefined;
  probing: boolean;
}

/**
 * A table, column or function the list needs that the replica lacks: it has not replayed a
 * migration the primary has (a deploy's first moments). The primary has it.
 */
function isSchemaBehind(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '42P01' || code === '42703' || code === '42883';
}

export class ReadReplicas {
  private readonly replicas: ReplicaStatus[];
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly reads: Counter<'target'>;
  private readonly lag: Gauge<'replica'>;
  private readonly usableGauge: Gauge<'replica'>;

  constructor(
    pools: ReplicaPool[],
    private readonly opts: { maxLagMs?: number; log: FastifyBaseLogger; metrics: Registry },
  ) {
    this.replicas = pools.map((p) => ({ ...p, position: '0', usable: undefined, probing: false }));
    this.reads = new Counter({
      name: 'db_list_reads_total',
      help: 'List operations by where they were read: replica, or primary (no replica fit, or the replica failed)',
      labelNames: ['target'] as const,
      registers: [opts.metrics],
    });
    this.lag = new Gauge({
      name: 'db_replica_lag_seconds',
      help: "A replica's replay lag as of its last probe (0: it has replayed all it received)",
      labelNames: ['replica'] as const,
      registers: [opts.metrics],
    });
    this.usableGauge = new Gauge({
      name: 'db_replica_usable',
      help: 'Whether lists may go to the replica (1) or not (0: unreachable, not a standby, or lagging too far)',
      labelNames: ['replica'] as const,
      registers: [opts.metrics],
    });
    for (const r of this.replicas) this.usableGauge.set({ replica: r.name }, 0);
  }

  /**
   * Probes every replica now and every PROBE_MS from then on, without waiting: lists use none
   * before its first probe, and a replica that is down delays nothing.
   */
  start(): void {
    void this.probeAll();
    this.timer = setInterval(() => void this.probeAll(), PROBE_MS).unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * Runs a list on a replica fit for it (the next one, round robin), or on the primary when none is
   * or when the one chosen fails for want of the replica (unreachable, shutting down), cancels it
   * for a conflict with its replay, or lacks part of the schema (a migration not replayed yet);
   * any other error is the list's own and is thrown.
   */
  async read<T>(
    onReplica: (replica: Replica) => Promise<T>,
    onPrimary: () => Promise<T>,
  ): Promise<T> {
    const replica = this.pick();
    if (replica) {
      try {
        const result = await onReplica(replica);
        this.reads.inc({ target: 'replica' });
        return result;
      } catch (err) {
        if (!isUnavailable(err) && !isRetryable(err) && !isSchemaBehind(err)) throw err;
        if (isUnavailable(err)) this.setUsable(replica, false, err);
      }
    }
    const result = await onPrimary();
    this.reads.inc({ target: 'primary' });
    return result;
  }

  private pick(): ReplicaStatus | undefined {
    for (let i = 0; i < this.replicas.length; i++) {
      const replica = this.replicas[(this.next + i) % this.replicas.length];
      if (replica.usable) {
        this.next = (this.next + i + 1) % this.replicas.length;
        return replica;
      }
    }
    return undefined;
  }

  private async probeAll(): Promise<void> {
    await Promise.all(this.replicas.map((r) => this.probe(r)));
  }

  private async probe(replica: ReplicaStatus): Promise<void> {
    if (replica.probing) return;
    replica.probing = true;
    let timeout: NodeJS.Timeout | undefined;
    try {
      const state = await Promise.race([
        replicaState(replica.probeSql),
        new Promise<never>((_, reject) => {
          timeout = setTimeout(
            () => reject(new Error(`no answer in ${PROBE_TIMEOUT_MS} ms`)),
            PROBE_TIMEOUT_MS,
          );
        }),
      ]);
      this.lag.set({ replica: replica.name }, state.lagMs / 1000);
      const { maxLagMs } = this.opts;
      const why = !state.standby
        ? 'it is not a standby (promoted?)'
        : maxLagMs !== undefined && state.lagMs > maxLagMs
          ? `its replay lags ${Math.round(state.lagMs)} ms, over DATABASE_REPLICA_MAX_LAG_MS`
          : undefined;
      // Replay never goes back, so a position read on it before a list holds for the list.
      if (!why) replica.position = state.position;
      this.setUsable(replica, !why, why);
    } catch (err) {
      this.setUsable(replica, false, err);
    } finally {
      clearTimeout(timeout);
      replica.probing = false;
    }
  }

  private setUsable(replica: ReplicaStatus, usable: boolean, why?: unknown): void {
    if (replica.usable !== usable) {
      // Logged from the first probe on, so that a replica unfit from the start is heard of too.
      if (usable) this.opts.log.info({ replica: replica.name }, 'lists go to this replica');
      else
        this.opts.log.warn(
          { replica: replica.name, ...(why instanceof Error ? { err: why } : { reason: why }) },
          'lists go elsewhere until this replica is fit again',
        );
    }
    replica.usable = usable;
    this.usableGauge.set({ replica: replica.name }, usable ? 1 : 0);
  }
}
