// The bench judges each scenario against its targets, and several rounds together.
import t from 'tap';
import { missedTargets, overRounds, spread, type Measured } from '../scripts/bench/targets.ts';
import { scenarios } from '../scripts/bench/scenarios.ts';

const good: Measured = { rps: 2000, p99: 45, ratio: 1.5, rssMb: 230, unexpected: 0 };

t.test('a measurement meeting every target misses none', async (t) => {
  t.strictSame(missedTargets({ ratio: 1, p99: 50 }, good), []);
  t.strictSame(
    missedTargets({ ratio: 1.5, rps: 2000, p99: 45 }, good),
    [],
    'the bounds themselves are met',
  );
});

t.test('each target missed is named with what was measured', async (t) => {
  t.strictSame(missedTargets({ ratio: 3, p99: 50 }, { ...good, ratio: 2.5, p99: 64.2 }), [
    'ratio 2.50× < 3.00×',
    'p99 64.2 > 50 ms',
  ]);
  t.strictSame(missedTargets({ rps: 4000, p99: 30 }, { ...good, rps: 3798.4, p99: 30 }), [
    '3798 req/s < 4000',
  ]);
  t.strictSame(
    missedTargets({}, { ...good, rssMb: 301 }),
    ['RSS 301 > 300 MB'],
    'the RSS limit holds for every scenario',
  );
  t.strictSame(
    missedTargets({}, { ...good, unexpected: 3 }),
    ['3 unexpected errors'],
    'and so does "no unexpected errors"',
  );
  t.strictSame(
    missedTargets({ ratio: 1 }, { ...good, ratio: undefined }),
    ['ratio NaN× < 1.00×'],
    'a ratio target without a baseline is missed',
  );
  t.strictSame(
    missedTargets({ p99: 50 }, { ...good, p99: NaN }),
    ['p99 NaN > 50 ms'],
    'no 2xx answers: no p99, missed',
  );
});

t.test('a ceiling: at least a share of its throughput', async (t) => {
  t.strictSame(
    missedTargets({ ratio: 3, ceiling: 0.25 }, { ...good, ratio: 3, ceiling: 0.25 }),
    [],
    'the bound itself is met',
  );
  t.strictSame(
    missedTargets({ ratio: 3, ceiling: 0.25 }, { ...good, ratio: 3.2, ceiling: 0.181 }),
    ['ceiling 0.18× < 0.25×'],
    'judged apart from the ratio to the baseline',
  );
  t.strictSame(
    missedTargets({ ceiling: 0.25 }, { ...good, ceiling: undefined }),
    ['ceiling NaN× < 0.25×'],
    'a ceiling target without a ceiling measured is missed',
  );
});

t.test("a p99 bound relative to the baseline's p99", async (t) => {
  t.strictSame(
    missedTargets({ baselineP99: 0.5 }, { ...good, p99: 60, baselineP99: 120 }),
    [],
    'at most half the naive p99: met at the bound',
  );
  t.strictSame(missedTargets({ baselineP99: 0.5 }, { ...good, p99: 70.04, baselineP99: 139.4 }), [
    "p99 70.0 > 69.7 ms (0.5× the baseline's 139.4)",
  ]);
  t.strictSame(
    missedTargets({ baselineP99: 0.5 }, { ...good, baselineP99: undefined }),
    ["p99 45.0 > NaN ms (0.5× the baseline's NaN)"],
    'no baseline p99: missed',
  );
});

t.test('the scenarios carry the targets of docs/benchmarks.md', async (t) => {
  const targets = Object.fromEntries(scenarios.map((s) => [s.name, s.targets]));
  t.strictSame(targets, {
    'transfer-uniform': { ratio: 3, ceiling: 0.25, baselineP99: 0.5 },
    'issue-hot': { ratio: 10, baselineP99: 0.5 },
    'reserve-hot': { ratio: 10 },
    'level-read': {},
    'level-read-100k-reservations': { ratio: 0.9 },
    'level-issue': {},
    'level-issue-100k-reservations': { ratio: 0.9 },
    'pick-5-locations': {},
    receipt: {},
    'items-search': { rps: 4000, p99: 30 },
    'stock-levels-200': {},
    'stock-levels-200-replica': {},
    'events-200': { ratio: 2 },
    'replenishment-run': {},
  });
});

t.test('a baseline is a pgbench script or another scenario, which exists', async (t) => {
  const names = new Set(scenarios.map((s) => s.name));
  for (const { name, baseline } of scenarios) {
    if (baseline && 'scenario' in baseline) {
      t.ok(names.has(baseline.scenario), `${name}'s baseline is a scenario`);
      t.not(baseline.scenario, name, `${name} is not its own baseline`);
    }
  }
  t.strictSame(
    scenarios.find((s) => s.name === 'events-200')?.baseline,
    { scenario: 'stock-levels-200' },
    'the feed is compared with a list of as many rows',
  );
  t.strictSame(
    Object.fromEntries(
      scenarios
        .filter((s) => s.name.endsWith('-100k-reservations'))
        .map((s) => [s.name, s.baseline]),
    ),
    {
      'level-read-100k-reservations': { scenario: 'level-read' },
      'level-issue-100k-reservations': { scenario: 'level-issue' },
    },
    'a level with 100,000 reservations is compared with a level alike without',
  );
  t.match(
    scenarios.find((s) => s.name === 'transfer-uniform')?.ceiling,
    { script: 'baseline-transfer-set.sql', clients: 4, perTransaction: 32 },
    'transfer-uniform also has its set-based ceiling: 32 transfers a transaction, 4 clients',
  );
  t.strictSame(
    scenarios.filter((s) => s.ceiling).map((s) => s.name),
    ['transfer-uniform'],
    'and only it',
  );
});

t.test('several rounds: how many met every target, medians and ranges', async (t) => {
  t.strictSame(spread([3, 1, 2]), { median: 2, min: 1, max: 3 });
  t.strictSame(
    spread([4, 1, 2, 3]),
    { median: 2.5, min: 1, max: 4 },
    'an even count: the mean of the middle two',
  );
  t.strictSame(spread([NaN, 5]), { median: 5, min: 5, max: 5 }, 'unknown values left out');
  t.ok(Number.isNaN(spread([]).median), 'none: unknown');
  const rounds = [
    { rps: 2000, p50: 20, p99: 45, ratio: 1.5, ceiling: 0.3, missed: [] },
    { rps: 1600, p50: 30, p99: 64, ratio: 1.2, ceiling: 0.2, missed: ['p99 64.0 > 50 ms'] },
    { rps: 1800, p50: 25, p99: 48, ratio: NaN, ceiling: NaN, missed: [] },
  ];
  const o = overRounds(rounds);
  t.equal(o.met, 2);
  t.equal(o.rounds, 3);
  t.strictSame(o.p50, { median: 25, min: 20, max: 30 });
  t.strictSame(o.p99, { median: 48, min: 45, max: 64 });
  t.strictSame(o.rps, { median: 1800, min: 1600, max: 2000 });
  t.strictSame(
    o.ratio,
    { median: 1.35, min: 1.2, max: 1.5 },
    'a round without a ratio is left out of its spread',
  );
  t.strictSame(o.ceiling, { median: 0.25, min: 0.2, max: 0.3 }, 'and so is one without a ceiling');
});
