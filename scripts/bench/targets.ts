// The performance targets (docs/benchmarks.md), judged for each scenario of a run, and
// over the rounds of `--rounds N`: on a VM whose speed moves by half within an hour, one run says
// little, and how many of several rounds met a target says more.

/** What one scenario must reach, besides what all must (RSS_LIMIT_MB, no unexpected errors). */
export interface Targets {
  /** At least this many times its baseline's throughput. */
  ratio?: number;
  /** At least this share of its ceiling's throughput (the set-based SQL of the same work). */
  ceiling?: number;
  /** A p99 latency of at most this many times its baseline's (pgbench's, at as many clients). */
  baselineP99?: number;
  /** At least this many requests a second. */
  rps?: number;
  /** A p99 latency of at most this many ms. */
  p99?: number;
}

export const RSS_LIMIT_MB = 300;

export interface Measured {
  rps: number;
  p99: number;
  /** Throughput over the baseline's, where the scenario has one. */
  ratio?: number;
  /** Throughput over the ceiling's, where the scenario has one. */
  ceiling?: number;
  /** The baseline's p99 in ms, where the scenario has one. */
  baselineP99?: number;
  rssMb: number;
  /** Answers and failures the scenario does not expect. */
  unexpected: number;
}

const num = (n: number, digits = 0) => n.toFixed(digits);

/** The targets a measurement missed, each as what was measured against what was wanted; none when all were met. */
export function missedTargets(targets: Targets, m: Measured): string[] {
  const missed: string[] = [];
  if (targets.ratio !== undefined && !((m.ratio ?? 0) >= targets.ratio))
    missed.push(`ratio ${num(m.ratio ?? NaN, 2)}× < ${num(targets.ratio, 2)}×`);
  if (targets.ceiling !== undefined && !((m.ceiling ?? 0) >= targets.ceiling))
    missed.push(`ceiling ${num(m.ceiling ?? NaN, 2)}× < ${num(targets.ceiling, 2)}×`);
  if (targets.rps !== undefined && !(m.rps >= targets.rps))
    missed.push(`${num(m.rps)} req/s < ${num(targets.rps)}`);
  if (targets.p99 !== undefined && !(m.p99 <= targets.p99))
    missed.push(`p99 ${num(m.p99, 1)} > ${targets.p99} ms`);
  if (targets.baselineP99 !== undefined) {
    const bound = targets.baselineP99 * (m.baselineP99 ?? NaN);
    if (!(m.p99 <= bound))
      missed.push(
        `p99 ${num(m.p99, 1)} > ${num(bound, 1)} ms (${targets.baselineP99}× the baseline's ${num(m.baselineP99 ?? NaN, 1)})`,
      );
  }
  if (!(m.rssMb <= RSS_LIMIT_MB)) missed.push(`RSS ${num(m.rssMb)} > ${RSS_LIMIT_MB} MB`);
  if (m.unexpected > 0) missed.push(`${num(m.unexpected)} unexpected errors`);
  return missed;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** Median and range of the finite values (all NaN when there are none). */
export function spread(values: number[]): Spread {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (!sorted.length) return { median: NaN, min: NaN, max: NaN };
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

/** One scenario's result in one round: its numbers (ratios NaN without a baseline or ceiling) and the targets it missed. */
export interface Judged {
  rps: number;
  p50: number;
  p99: number;
  ratio: number;
  ceiling: number;
  missed: string[];
}

/** One scenario over several rounds: how many met every target, and the median and range of each number. */
export function overRounds(rounds: Judged[]) {
  return {
    met: rounds.filter((r) => r.missed.length === 0).length,
    rounds: rounds.length,
    rps: spread(rounds.map((r) => r.rps)),
    p50: spread(rounds.map((r) => r.p50)),
    p99: spread(rounds.map((r) => r.p99)),
    ratio: spread(rounds.map((r) => r.ratio)),
    ceiling: spread(rounds.map((r) => r.ceiling)),
  };
}
