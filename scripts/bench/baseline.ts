// A pgbench baseline of `npm run bench`: a script of naive (or set-based) SQL run against the
// bench's PostgreSQL for warm-up + duration, judged from pgbench's per-transaction log.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../../server/config.ts';
import { findPgbench, PGBENCH_HINT } from '../lib/pgbench.ts';
import { StealMeter } from './steal.ts';
import { percentile } from './window.ts';

export interface PgbenchRun {
  /** A script in scripts/bench/. */
  script: string;
  clients: number;
  warmup: number;
  duration: number;
  /** What one transaction of the script does, counted in `rps` (1: one move per transaction). */
  perTransaction: number;
}

export interface PgbenchResult {
  /** Transactions a second × perTransaction. */
  rps: number;
  /** Per transaction, in ms. */
  p50: number;
  p99: number;
  failed: number;
  stolen: number;
}

/**
 * Runs the script for warm-up + duration: throughput and latency percentiles from its
 * per-transaction log (`-l`, one file per thread in a temporary directory, removed after), of the
 * transactions that ended after the warm-up.
 */
export async function runPgbench(databaseUrl: string, run: PgbenchRun): Promise<PgbenchResult> {
  const logDir = mkdtempSync(join(tmpdir(), 'pgbench-'));
  try {
    const args = [
      '-n',
      '-M',
      'prepared',
      '-c',
      String(run.clients),
      '-j',
      String(Math.min(2, run.clients)),
      '-T',
      String(run.warmup + run.duration),
      '-f',
      join(repoRoot, 'scripts/bench', run.script),
      '-l',
      '--log-prefix',
      join(logDir, 'tx'),
      databaseUrl,
    ];
    const bin = findPgbench();
    if (!bin) throw new Error(PGBENCH_HINT);
    const steal = new StealMeter();
    const warmedUp = setTimeout(() => steal.start(), run.warmup * 1000);
    let stolen: number;
    try {
      await promisify(execFile)(bin, args, { maxBuffer: 64 << 20 });
    } finally {
      clearTimeout(warmedUp);
      stolen = steal.stop().overall;
    }
    // A log line: client, transaction number, latency in µs (or "failed"), script, end time (s, µs).
    const logged = readdirSync(logDir)
      .flatMap((f) => readFileSync(join(logDir, f), 'utf8').trim().split('\n'))
      .filter(Boolean)
      .map((line) => {
        const f = line.split(' ');
        return { latency: f[2], end: Number(f[4]) + Number(f[5]) / 1e6 };
      });
    const last = logged.reduce((max, t) => Math.max(max, t.end), 0); // (no spread: a long run logs more entries than a call takes arguments)
    const measured = logged.filter((t) => t.end > last - run.duration);
    const latencies = measured
      .map((t) => Number(t.latency) / 1000)
      .filter((ms) => Number.isFinite(ms))
      .sort((a, b) => a - b);
    return {
      rps: (latencies.length * run.perTransaction) / run.duration,
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      failed: measured.length - latencies.length,
      stolen,
    };
  } finally {
    rmSync(logDir, { recursive: true, force: true });
  }
}
