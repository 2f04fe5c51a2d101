// How much of the machine's CPU time its hypervisor took: the `steal` column of /proc/stat, time
// when a virtual CPU had work but the host ran something else. On a shared VM it comes and goes
// within minutes (0 to 25 % of the two cores here), and every latency measured while it is high
// grows with it, so the bench reports it beside each measurement: runs are compared knowing it.
import { readFileSync } from 'node:fs';

export interface CpuTicks {
  /** Ticks of all the machine's CPUs so far: every state, and the part stolen. */
  total: number;
  steal: number;
}

/**
 * The ticks of /proc/stat's first line by state (`cpu  user nice system idle iowait irq softirq
 * steal …`), the first eight: guest and guest_nice are already counted in user and nice.
 */
export function cpuStates(procStat: string): number[] | null {
  const fields = /^cpu\s+(.*)$/m.exec(procStat)?.[1].trim().split(/\s+/).map(Number);
  if (!fields || fields.length < 8 || fields.some((n) => !Number.isFinite(n))) return null;
  return fields.slice(0, 8);
}

/** The totals of /proc/stat's first line: every state, and steal. */
export function parseCpuTicks(procStat: string): CpuTicks | null {
  const states = cpuStates(procStat);
  return states && { total: states.reduce((sum, n) => sum + n, 0), steal: states[7] };
}

/** The share of the CPU time between two readings that was stolen (NaN when unknown). */
export function stolenShare(from: CpuTicks | null, to: CpuTicks | null): number {
  if (!from || !to || to.total <= from.total) return NaN;
  return (to.steal - from.steal) / (to.total - from.total);
}

/** Reads the machine's CPU ticks (null where there is no /proc/stat). */
export type TickReader = () => CpuTicks | null;

export const readCpuTicks: TickReader = () => {
  try {
    return parseCpuTicks(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return null;
  }
};

/** Samples the ticks once a second from start() to stop(): the share stolen in each second and overall. */
export class StealMeter {
  private readings: (CpuTicks | null)[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly read: TickReader = readCpuTicks) {}

  start(): void {
    this.readings = [this.read()];
    this.timer = setInterval(() => this.readings.push(this.read()), 1000);
  }

  stop(): { overall: number; perSecond: number[] } {
    clearInterval(this.timer);
    if (!this.readings.length) return { overall: NaN, perSecond: [] };
    const last = this.read();
    const perSecond = this.readings
      .slice(1)
      .map((reading, i) => stolenShare(this.readings[i], reading));
    return { overall: stolenShare(this.readings[0], last), perSecond };
  }
}
