// The measured part of one continuous HTTP load run. Warm-up and measurement are one autocannon run,
// as they are one pgbench run for the baselines, and only the answers that arrive after the warm-up
// count. autocannon's own warm-up is a separate run: it destroys its connections as it ends,
// abandoning the requests in flight, which the server still works off, so the measurement's first
// requests, on as many new connections, queued behind them (for receipts, ~0.3 s of work).

export interface WindowSummary {
  /** Answers of any status per second of the window. */
  rps: number;
  /** Latency percentiles of the 2xx answers (like autocannon's), in ms. */
  p50: number;
  p99: number;
  /** Answers by status code. */
  statuses: Map<number, number>;
  /** Requests that got no answer: timed out, or failed otherwise (connection errors). */
  timeouts: number;
  errors: number;
}

/** The value below which the fraction q of the sorted values lie (the smallest with at least q at or below it). */
export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
}

export class MeasuredWindow {
  private readonly answers: { at: number; ms: number; status: number }[] = [];
  private errors = 0;
  private timeouts = 0;

  /** `startedAt` is performance.now() as the run started; `from` and `to` bound the window, in seconds after it. */
  constructor(
    private readonly startedAt: number,
    private readonly from: number,
    private readonly to: number,
  ) {}

  private secondsSinceStart(): number | undefined {
    const at = (performance.now() - this.startedAt) / 1000;
    return at >= this.from && at < this.to ? at - this.from : undefined;
  }

  answered(status: number, ms: number) {
    const at = this.secondsSinceStart();
    if (at !== undefined) this.answers.push({ at, ms, status });
  }

  failed(err: Error) {
    if (this.secondsSinceStart() === undefined) return;
    if (err.message === 'request timed out')
      this.timeouts++; // (autocannon's error for a timeout)
    else this.errors++;
  }

  summary(): WindowSummary {
    const statuses = new Map<number, number>();
    for (const { status } of this.answers) statuses.set(status, (statuses.get(status) ?? 0) + 1);
    const ok = this.answers
      .filter((a) => a.status >= 200 && a.status < 300)
      .map((a) => a.ms)
      .sort((a, b) => a - b);
    return {
      rps: this.answers.length / (this.to - this.from),
      p50: percentile(ok, 0.5),
      p99: percentile(ok, 0.99),
      statuses,
      timeouts: this.timeouts,
      errors: this.errors,
    };
  }

  /** Latency of the answers of each second of the window, by when they arrived: a steady tail, or bursts? */
  timeline(): { second: number; answers: number; p50: number; p99: number; max: number }[] {
    const seconds = new Map<number, number[]>();
    for (const { at, ms } of this.answers) {
      const second = Math.floor(at);
      if (!seconds.has(second)) seconds.set(second, []);
      seconds.get(second)!.push(ms);
    }
    return [...seconds]
      .sort(([a], [b]) => a - b)
      .map(([second, ms]) => {
        ms.sort((a, b) => a - b);
        return {
          second,
          answers: ms.length,
          p50: percentile(ms, 0.5),
          p99: percentile(ms, 0.99),
          max: ms[ms.length - 1],
        };
      });
  }
}
