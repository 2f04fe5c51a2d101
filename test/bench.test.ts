// `npm run bench` keeps working: a one-second run of every scenario and every pgbench baseline
// against the test PostgreSQL prints the whole table with no errors, and its invariant check holds;
// with --rounds it runs again and sums the rounds up.
// It asserts no speed (benchmarks measure that, tests don't), only that the harness is sound.
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createSql, dropDatabase } from '../db/client.ts';
import { findPgbench, PGBENCH_HINT } from '../scripts/lib/pgbench.ts';
import { repoRoot } from '../server/config.ts';
import { missingTool } from './helpers/tools.ts';

const admin = process.env.TEST_ADMIN_DATABASE_URL!;

/**
 * `npm run bench` with these arguments, 1 s measured after 1 s of warm-up, in a database of its
 * own (dropped after the test). events-200 pages a feed of 2,000 events: the 20,000 a measurement
 * wants would take minutes of postings on a busy machine.
 */
async function runBench(t: Test, database: string, args: string[]) {
  t.teardown(async () => {
    const sql = createSql(admin, { max: 1 });
    await dropDatabase(sql, database);
    await sql.end();
  });
  return promisify(execFile)(
    process.execPath,
    [
      '--import',
      'tsx',
      join(repoRoot, 'scripts/bench/index.ts'),
      '--duration',
      '1',
      '--warmup',
      '1',
      '--database',
      database,
      '--feed-events',
      '2000',
      // A run over 200 rules: several complete in the 1 s measured (10,000 take ~0.6 s each).
      '--replenishment-rules',
      '200',
      ...args,
    ],
    {
      cwd: repoRoot,
      env: { ...process.env, DATABASE_URL: admin },
      maxBuffer: 16 << 20,
    },
  );
}

// Seeding, four pgbench runs and thirteen scenarios, 1 s each after 1 s of warm-up: ~90 s, more on a busy machine.
t.setTimeout(300_000);
t.test('a short npm run bench prints every scenario, no errors, invariants hold', async (t) => {
  if (!findPgbench()) return missingTool(t, PGBENCH_HINT);
  const database = `bench_smoke_${process.pid}`;
  const { stdout, stderr } = await runBench(t, database, ['--connections', '8']);
  const rows = new Map(
    stdout
      .split('\n')
      .filter((l) => l.startsWith('| ') && !l.startsWith('| scenario'))
      .map((l) => {
        const cells = l
          .split('|')
          .slice(1, -1)
          .map((c) => c.trim());
        return [
          cells[0],
          {
            rps: Number(cells[1]),
            errors: cells[4],
            ratio: cells[6],
            ceiling: cells[7],
            stolen: cells[8],
            targets: cells[9],
          },
        ];
      }),
  );
  t.strictSame(
    [...rows.keys()],
    [
      'baseline-uniform (pgbench)',
      'ceiling-uniform (pgbench)',
      'transfer-uniform',
      'baseline-hot (pgbench)',
      'issue-hot',
      'baseline-reserve-hot (pgbench)',
      'reserve-hot',
      'level-read',
      'level-read-100k-reservations',
      'level-issue',
      'level-issue-100k-reservations',
      'pick-5-locations',
      'receipt',
      'items-search',
      'stock-levels-200',
      'events-200',
      'replenishment-run',
    ],
  );
  for (const [scenario, row] of rows) {
    t.ok(row.rps > 0, `${scenario} served requests`);
    t.equal(row.errors, '0', `${scenario} had no errors`);
  }
  t.match(rows.get('transfer-uniform')!.ratio, /^\d+\.\d\d×$/, 'a ratio to the baseline');
  t.match(rows.get('transfer-uniform')!.ceiling, /^\d+\.\d\d×$/, 'and to the ceiling');
  t.equal(rows.get('issue-hot')!.ceiling, '—', 'which no other scenario has');
  t.match(
    rows.get('level-read-100k-reservations')!.ratio,
    /^\d+\.\d\d×$/,
    'a level with 100,000 reservations against one without',
  );
  t.match(rows.get('events-200')!.ratio, /^\d+\.\d\d×$/, 'a ratio to a baseline scenario');
  t.equal(rows.get('stock-levels-200')!.ratio, '—', 'which has none of its own');
  // Every scenario is judged against its targets (a 1 s run at 8 connections may meet them or not).
  for (const [scenario, row] of rows) {
    if (scenario.includes('pgbench')) t.equal(row.targets, '—', `${scenario} has no targets`);
    else t.match(row.targets, /^(met|missed: .+)$/, `${scenario} is judged against its targets`);
  }
  t.match(stdout, /invariants: \d+ checks, all hold/, 'the invariant check ran and passed');
  // Maintenance runs between measurements, not inside them: autovacuum is off for every table of the
  // bench's own database, and each measurement starts after a VACUUM ANALYZE.
  t.match(stderr, /settled \(VACUUM ANALYZE/, 'each measurement starts after a VACUUM ANALYZE');
  // A fresh cluster would create WAL segments mid-measurement: the bench makes them first, when its
  // role may (a superuser: the embedded test cluster's; not .ci/run's), and counts them after.
  const wal = /# WAL: (\d+) segments for reuse|# WAL not warmed: .* need a superuser/.exec(stderr);
  t.ok(wal, 'the bench reports the WAL step');
  if (wal?.[1])
    t.ok(
      Number(wal[1]) >= 32,
      'the WAL has 32 segments or more to reuse before the first measurement',
    );
  const url = new URL(admin);
  url.pathname = `/${database}`;
  const bench = createSql(url.toString(), { max: 1 });
  try {
    const tables = await bench<{ name: string; options: string[] | null }[]>`
      SELECT relname AS name, reloptions AS options FROM pg_class
      WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'`;
    t.ok(tables.length >= 10, 'the bench database has its tables');
    const reserved = await bench<{ item_id: string; reserved: number; active: number }[]>`
      SELECT s.item_id, s.reserved::int, (SELECT count(*)::int FROM reservations r
        WHERE r.item_id = s.item_id AND r.warehouse_id = s.warehouse_id AND r.status = 'ACTIVE') AS active
      FROM stock_levels s WHERE s.warehouse_id = 'WH-1' AND s.item_id IN ('item-hot', 'item-reserved')
      ORDER BY s.item_id`;
    const [hot, atScale] = reserved;
    t.equal(hot.item_id, 'item-hot');
    t.ok(
      hot.active <= 8 && hot.reserved === hot.active,
      "reserve-hot's reservations are released after it (all but any still in flight when its load stopped, at most one per connection)",
    );
    t.strictSame(
      atScale,
      { item_id: 'item-reserved', reserved: 100_000, active: 100_000 },
      'the reserved level keeps its 100,000',
    );
    t.strictSame(
      tables.filter((r) => !r.options?.includes('autovacuum_enabled=false')).map((r) => r.name),
      [],
      'autovacuum is off for all of them',
    );
  } finally {
    await bench.end();
  }
  if (process.platform === 'linux') {
    const shares = [
      ...stderr.matchAll(
        /main thread ran (\d+)% of the measured time and waited for a CPU (\d+)% of it/g,
      ),
    ];
    t.equal(shares.length, 13, "the server's main-thread time is reported for every HTTP scenario");
    t.ok(
      shares.every(([, ran, waited]) => Number(ran) > 0 && Number(ran) + Number(waited) <= 110),
      'as shares of the measured time',
    );
    // What the hypervisor took is beside every measurement, the pgbench baselines' too.
    t.strictSame(
      [...rows].filter(([, row]) => !/^\d+%$/.test(row.stolen)).map(([scenario]) => scenario),
      [],
      'CPU stolen is reported for every row',
    );
  }
});

t.test(
  "--rounds runs the scenarios again and says how many rounds met their targets; --only brings a scenario's baseline scenario along",
  async (t) => {
    // (events-200's baseline is stock-levels-200, not pgbench.)
    const { stdout, stderr } = await runBench(t, `bench_rounds_${process.pid}`, [
      '--connections',
      '4',
      '--only',
      'events-200',
      '--rounds',
      '2',
    ]);
    t.equal(
      [...stdout.matchAll(/^Round (\d) of 2: /gm)].map((m) => m[1]).join(),
      '1,2',
      'a table per round',
    );
    t.equal(
      [...stdout.matchAll(/^\| (stock-levels-200|events-200) \| \d+ \| /gm)]
        .map((m) => m[1])
        .join(),
      'stock-levels-200,events-200,stock-levels-200,events-200',
      'the baseline scenario measured once a round, before the scenario',
    );
    t.equal(
      [...stdout.matchAll(/^invariants: \d+ checks, all hold$/gm)].length,
      2,
      'the invariants checked after each round',
    );
    const n = '\\d+';
    const ms = '[\\d.]+';
    t.match(
      stdout,
      new RegExp(
        `^\\| stock-levels-200 \\| [012] of 2 \\| ${n} \\(${n}–${n}\\) \\| ${ms} \\(${ms}–${ms}\\) \\| ${ms} \\(${ms}–${ms}\\) \\| — \\| — \\|$`,
        'm',
      ),
      'the rounds summed up: rounds meeting every target, medians and ranges of req/s, p50, p99',
    );
    t.match(
      stdout,
      new RegExp(
        `^\\| events-200 \\| [012] of 2 \\| .* \\| ${ms}× \\(${ms}×–${ms}×\\) \\| — \\|$`,
        'm',
      ),
      'and of the ratio to the baseline scenario',
    );
    t.equal(
      [...stderr.matchAll(/posted (\d+) transfers for the feed/g)].length,
      1,
      'the feed is filled once, in the first round',
    );
  },
);
