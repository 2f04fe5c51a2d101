// How much of what settled postgres.js queries allocate V8 promotes to its old generation, under
// the server's own flags (those of `npm start`, and --no-allocation-site-pretenuring, which
// server/main.ts sets): the patched Query and queues must let a
// settled query, its result and its transaction's objects die young (docs/decisions/0006, 0009).
// A measurement of garbage collection, so it is the bench's, not a test's: on a loaded machine the
// share moves with what else runs.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { startArgs } from '../lib/spawn-server.ts';

/** The V8 flags `npm start` gives the server (those before `--import`), e.g. its young generation's size. */
function v8Flags(): string[] {
  const args = startArgs();
  return args.slice(0, args.indexOf('--import'));
}

/** At most this share of the bytes allocated in young-generation collections may be promoted. */
export const PROMOTION_LIMIT = 0.002;

export interface Promotion {
  allocated: number;
  promoted: number;
  scavenges: number;
}

/** Runs query-promotion.ts for `ms` against the database at `url` and sums its scavenges' trace. */
export async function measurePromotion(url: string, ms = 3000): Promise<Promotion> {
  const fixture = fileURLToPath(new URL('./query-promotion.ts', import.meta.url));
  const child = spawn(
    process.execPath,
    [
      ...v8Flags(),
      '--no-allocation-site-pretenuring',
      '--trace-gc-nvp',
      '--import',
      'tsx',
      fixture,
      url,
      String(ms),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`query-promotion.ts exited with ${code}`);
  const measured = out.split('=== MEASURE START')[1]?.split('=== MEASURE END')[0] ?? '';
  const scavenges = measured.split('\n').filter((l) => l.includes(' gc=s '));
  const sum = (field: string) =>
    scavenges.reduce((n, l) => n + Number(new RegExp(` ${field}=(\\d+)`).exec(l)?.[1] ?? 0), 0);
  return { allocated: sum('allocated'), promoted: sum('promoted'), scavenges: scavenges.length };
}

/** One line for the bench's output: the share promoted, and whether it is within the limit. */
export function describePromotion({ allocated, promoted, scavenges }: Promotion): string {
  const share = promoted / allocated;
  const verdict =
    scavenges < 5
      ? `missed: only ${scavenges} young-generation collections`
      : share < PROMOTION_LIMIT
        ? 'met'
        : `missed: > ${(100 * PROMOTION_LIMIT).toFixed(1)} %`;
  return `settled postgres.js queries: ${(promoted / 1e6).toFixed(2)} MB promoted of ${(allocated / 1e6).toFixed(0)} MB allocated (${(100 * share).toFixed(2)} %) in ${scavenges} young-generation collections; target < ${(100 * PROMOTION_LIMIT).toFixed(1)} %: ${verdict}`;
}
