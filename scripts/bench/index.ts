// `npm run bench [-- --duration 10 --warmup 5 --connections 64 --only transfer-uniform,issue-hot --feed-events 20000 --database inventory_bench --profile DIR --timeline --autovacuum --rounds 3]`
// Seeds its own database on a durable PostgreSQL (fsync and synchronous_commit on), starts the real
// server, drives it over HTTP with signed tokens and unique Idempotency-Keys (autocannon), measures
// each scenario's baseline in the same run (the pgbench one of the naive per-move transaction against
// the same PostgreSQL, or another scenario) and, for transfer-uniform, the set-based ceiling, prints
// one table with ratios, and checks the invariants afterwards.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createSigner } from 'fast-jwt';
import { createSql, dropDatabase, type Sql } from '../../db/client.ts';
import { migrate } from '../../db/migrate.ts';
import { removeCluster, startEmbeddedPostgres, type EmbeddedPostgres } from '../../db/embedded.ts';
import { repoRoot } from '../../server/config.ts';
import { spawnServerProcess, type ServerProcess } from '../lib/spawn-server.ts';
import { checkInvariants } from '../lib/invariants.ts';
import { commandLine, wholeNumber } from '../lib/cli.ts';
import { runPgbench } from './baseline.ts';
import { load, type MakeRequest } from './load.ts';
import {
  baselineName,
  scenarios,
  type Baseline,
  type PgbenchBaseline,
  type Scenario,
  type ScenarioContext,
} from './scenarios.ts';
import { scheduleMaintenance, settle, warmWal } from './maintenance.ts';
import { describePromotion, measurePromotion } from './promotion.ts';
import { seed } from './seed.ts';
import { startStandby, type Standby } from './replica.ts';
import { availableParallelism } from 'node:os';
import { PERF_NODE_ARGS, printPerfStages, recordPerf, removePerfMap } from './perf.ts';
import { cpuPerAnswer, postmasterOf, readCpu, type CpuReading } from './cpu-use.ts';
import {
  enableStatements,
  printStatements,
  resetStatements,
  STATEMENTS_SETTINGS,
} from './statements.ts';
import { StealMeter } from './steal.ts';
import { missedTargets, overRounds, RSS_LIMIT_MB, type Judged, type Spread } from './targets.ts';
import { MeasuredWindow, type WindowSummary } from './window.ts';

const args = commandLine(
  `Usage: npm run bench [-- options]

  --duration S       seconds measured per baseline and scenario (default 10)
  --warmup S         seconds run before each measurement (default 5)
  --connections N    concurrent clients, for pgbench and the HTTP load alike (default 64; the
                     set-based ceiling of transfer-uniform always runs with 4)
  --only A,B         only these scenarios (each with its baseline and ceiling): transfer-uniform,
                     issue-hot, reserve-hot, level-read, level-read-100k-reservations,
                     level-issue, level-issue-100k-reservations (reading and posting on a level
                     with 100,000 ACTIVE reservations, against a level alike with none),
                     pick-5-locations, receipt, items-search, stock-levels-200,
                     stock-levels-200-replica (lists read on a hot standby), events-200,
                     replenishment-run (a run over 10,000 reorder rules), query-promotion (what
                     V8 promotes of settled postgres.js queries)
  --feed-events N    events-200 reads pages at random positions of a feed of at least N events,
                     posting transfers through the API first if the round has not (default 20000)
  --replenishment-rules N
                     reorder rules (at most 10000) each replenishment-run request runs over
                     (default 10000)
  --database NAME    the database created (dropped first) for the run (default inventory_bench)
  --profile DIR      write the server's V8 CPU profile there when it stops (read it by stage:
                     npx tsx scripts/bench/stages.ts DIR/<file>.cpuprofile)
  --perf DIR         sample the server's CPU with Linux perf through each measurement (into
                     DIR/<scenario>.perf.data) and print it by stage, in µs per answer
  --statements       print PostgreSQL's costliest statements of each HTTP measurement, per
                     answer (pg_stat_statements, loaded into the embedded PostgreSQL)
  --timeline         print p50/p99/max and the CPU stolen of each measured second of every
                     HTTP scenario
  --autovacuum       leave autovacuum on for the bench's tables (by default it is off, and
                     VACUUM ANALYZE runs between measurements instead)
  --rounds N         run every baseline and scenario N times over, a table per round, then how
                     many rounds met each scenario's targets (default 1)

DATABASE_URL names a PostgreSQL to use (a role with CREATEDB; a superuser's also lets the bench
checkpoint between measurements and make WAL segments before them); without it an embedded one is
started. stock-levels-200-replica reads on a hot standby that the bench makes of its embedded
PostgreSQL; with DATABASE_URL it needs DATABASE_REPLICA_URL, a standby of it naming the bench's
database (--database), and is skipped without.`,
  {
    duration: { type: 'string', default: '10' },
    /**
     * Seconds run before each measurement, by the pgbench baselines and the HTTP scenarios alike:
     * the first seconds after the server starts, or after the CHECKPOINT that precedes each
     * measurement, are not steady (V8 still compiling the request path; every page's first change
     * after a checkpoint writing a full-page image to WAL).
     */
    warmup: { type: 'string', default: '5' },
    connections: { type: 'string', default: '64' },
    only: { type: 'string' },
    'feed-events': { type: 'string', default: '20000' },
    'replenishment-rules': { type: 'string', default: '10000' },
    database: { type: 'string', default: 'inventory_bench' },
    profile: { type: 'string' },
    perf: { type: 'string' },
    statements: { type: 'boolean', default: false },
    timeline: { type: 'boolean', default: false },
    autovacuum: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '1' },
  },
);
const duration = wholeNumber('duration', args.duration, 1);
const warmup = wholeNumber('warmup', args.warmup, 0);
const connections = wholeNumber('connections', args.connections, 1);
const rounds = wholeNumber('rounds', args.rounds, 1);
const feedEvents = wholeNumber('feed-events', args['feed-events'], 1);
const replenishmentRules = wholeNumber('replenishment-rules', args['replenishment-rules'], 1);
const only = args.only?.split(',');
/** The bench's PostgreSQL's postmaster, when it runs on this machine (for its CPU, cpu-use.ts). */
let postmasterPid: number | null = null;
/** pg_stat_statements is there to read (`--statements`, once the bench's database has it). */
let statements = false;
/** The clients a scenario is driven with: `--connections`, or fewer where the scenario caps them. */
const connectionsOf = (scenario: Scenario) =>
  Math.min(connections, scenario.maxConnections ?? connections);
/** With WORKERS > 1 the server is a primary forwarding connections to workers, each with its own counters. */
const severalWorkers = Number(process.env.WORKERS ?? 1) > 1;

interface Row {
  scenario: string;
  rps: number;
  p50: number;
  p99: number;
  errors: string;
  /** The server's peak RSS in bytes (NaN for a pgbench baseline). */
  rss: number;
  /** Throughput over the baseline's (1 for a pgbench baseline itself; NaN where there is none). */
  ratio: number;
  /** Throughput over the ceiling's (NaN where there is none). */
  ceiling: number;
  /** The share of the CPU time the hypervisor took during the measurement. */
  stolen: number;
  /** For an HTTP scenario, the targets it missed (none: all met); a baseline has none to judge. */
  missed?: string[];
}

const ISSUER = 'https://bench.inventory-api.dev/';
const AUDIENCE = 'inventory-api';
const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signToken = createSigner({
  key: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  algorithm: 'ES256',
  iss: ISSUER,
  aud: AUDIENCE,
  expiresIn: 3_600_000,
});
const token = signToken({
  sub: 'bench',
  client_id: 'bench',
  scope: 'inventory:read inventory:write procurement:write',
});

/** Resident set size of a process and its descendants (the workers when WORKERS > 1). */
function treeRss(pid: number): number {
  try {
    const own =
      Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
    return own + children.reduce((sum, child) => sum + treeRss(child), 0);
  } catch {
    return 0; // gone
  }
}

/** Peak resident set size of a process tree, sampled every 100 ms while fn runs. */
async function withPeakRss<T>(pid: number, fn: () => Promise<T>): Promise<[T, number]> {
  let peak = 0;
  const sample = () => {
    peak = Math.max(peak, treeRss(pid));
  };
  const timer = setInterval(sample, 100);
  try {
    sample();
    return [await fn(), peak];
  } finally {
    clearInterval(timer);
  }
}

interface BatchCounters {
  batches: number;
  postings: number;
  waited: number;
}

/**
 * The server's group-commit counters (posting_batch_size, posting_queue_wait_seconds), from
 * /metrics; null with WORKERS > 1, where each worker counts its own and any of them may answer.
 */
async function batchCounters(server: ServerProcess): Promise<BatchCounters | null> {
  if (severalWorkers) return null;
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return {
    batches: value('posting_batch_size_count'),
    postings: value('posting_batch_size_sum'),
    waited: value('posting_queue_wait_seconds_sum'),
  };
}

/**
 * The server's main thread: nanoseconds on a CPU and waiting for one so far (Linux schedstat), and
 * when that was read; null where there is none (or with WORKERS > 1, where the primary only
 * forwards connections). A main thread that waits long while runnable means the cores are
 * contended, not the thread busy.
 */
function mainThreadTimes(pid: number): { ran: number; waited: number; at: number } | null {
  if (severalWorkers) return null;
  try {
    const [ran, waited] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8')
      .split(' ')
      .map(Number);
    return { ran, waited, at: performance.now() };
  } catch {
    return null;
  }
}

const percent = (share: number) => (Number.isFinite(share) ? `${(100 * share).toFixed(0)}%` : '—');

/**
 * Each second of the window with its wall-clock time (UTC), to line slow seconds up with
 * PostgreSQL's log, and the share of the CPU stolen in it.
 */
function printTimeline(window: MeasuredWindow, measuredFrom: number, stolen: number[]) {
  for (const { second, answers, p50, p99, max } of window.timeline()) {
    const clock = new Date(measuredFrom + second * 1000).toISOString().slice(11, 19);
    console.error(
      `#   ${second}-${second + 1} s (${clock}): ${answers} answers, p50 ${p50.toFixed(0)} p99 ${p99.toFixed(0)} max ${max.toFixed(0)} ms, CPU stolen ${percent(stolen[second] ?? NaN)}`,
    );
  }
}

async function drive(
  server: ServerProcess,
  sql: Sql,
  scenario: Scenario,
  make: MakeRequest,
): Promise<{ measured: WindowSummary; rss: number; stolen: number }> {
  const before = await batchCounters(server);
  const cpuBefore = process.cpuUsage();
  const startedAt = Date.now();
  const window = new MeasuredWindow(performance.now(), warmup, warmup + duration);
  const run = load({
    url: server.url,
    token,
    connections: connectionsOf(scenario),
    method: scenario.method,
    path: scenario.path,
    make,
    duration: warmup + duration,
  });
  run.on('response', (_client: unknown, status: number, _bytes: number, ms: number) =>
    window.answered(status, ms),
  );
  run.on('reqError', (err: Error) => window.failed(err));
  const pid = server.child.pid!;
  const mainThread = { from: null as ReturnType<typeof mainThreadTimes> };
  const measuredCpu = { from: null as CpuReading | null, loadGenerator: process.cpuUsage() };
  let perfFile: Promise<string | null> = Promise.resolve(null);
  const steal = new StealMeter();
  const warmedUp = setTimeout(() => {
    mainThread.from = mainThreadTimes(pid);
    measuredCpu.from = readCpu(pid, postmasterPid);
    measuredCpu.loadGenerator = process.cpuUsage();
    if (statements) void resetStatements(sql);
    if (args.perf) perfFile = recordPerf(args.perf, scenario.name, pid, duration);
    steal.start();
  }, warmup * 1000);
  const [, rss] = await withPeakRss(pid, () => run);
  clearTimeout(warmedUp);
  const stolen = steal.stop();
  const cpuTo = readCpu(pid, postmasterPid);
  const generated = process.cpuUsage(measuredCpu.loadGenerator);
  const summary = window.summary();
  const answers = [...summary.statuses.values()].reduce((sum, n) => sum + n, 0);
  if (measuredCpu.from && cpuTo && answers > 0) {
    const c = cpuPerAnswer(
      measuredCpu.from,
      cpuTo,
      answers,
      (generated.user + generated.system) / 1e6,
    );
    const us = (n: number) => `${fmt(n)} µs`;
    console.error(
      `#   CPU per answer: server ${us(c.server)}, PostgreSQL ${us(c.postgres)}, load generator ${us(c.loadGenerator)}, the rest ${us(c.rest)}: ${us(c.busy)} of the machine's ${us((availableParallelism() * 1e3 * (cpuTo.at - measuredCpu.from.at)) / answers)}`,
    );
    const perfData = await perfFile;
    if (perfData) await printPerfStages(perfData, c.server);
  }
  if (statements && answers > 0) await printStatements(sql, answers);
  const [from, to] = [mainThread.from, mainThreadTimes(pid)];
  if (from && to) {
    const share = (ns: number) => `${((100 * ns) / 1e6 / (to.at - from.at)).toFixed(0)}%`;
    console.error(
      `#   the server's main thread ran ${share(to.ran - from.ran)} of the measured time and waited for a CPU ${share(to.waited - from.waited)} of it`,
    );
  }
  console.error(
    `#   the hypervisor took ${percent(stolen.overall)} of the machine's CPU time (steal)`,
  );
  if (args.timeline) printTimeline(window, startedAt + warmup * 1000, stolen.perSecond);
  const cpu = process.cpuUsage(cpuBefore);
  console.error(
    `#   the load generator (this process) used ${((100 * (cpu.user + cpu.system)) / 1000 / (Date.now() - startedAt)).toFixed(0)}% of a core`,
  );
  const after = await batchCounters(server);
  if (before && after && after.batches > before.batches) {
    const batches = after.batches - before.batches;
    const postings = after.postings - before.postings;
    console.error(
      `#   ${batches} group-commit batches (warm-up included), ${(postings / batches).toFixed(1)} postings each on average, which waited ${((1000 * (after.waited - before.waited)) / postings).toFixed(1)} ms in the queue`,
    );
  }
  return { measured: summary, rss, stolen: stolen.overall };
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '—');
const mb = (bytes: number) => `${Math.round(bytes / (1 << 20))} MB`;

/** A pgbench baseline: ratio 1, nothing to judge. */
async function pgbenchRow(sql: Sql, databaseUrl: string, baseline: PgbenchBaseline): Promise<Row> {
  await settle(sql);
  const clients = baseline.clients ?? connections;
  console.error(`# ${baseline.name} (pgbench, ${clients} clients, ${duration} s)`);
  const base = await runPgbench(databaseUrl, {
    script: baseline.script,
    clients,
    warmup,
    duration,
    perTransaction: baseline.perTransaction ?? 1,
  });
  return {
    scenario: baseline.name,
    rps: base.rps,
    p50: base.p50,
    p99: base.p99,
    errors: String(base.failed),
    rss: NaN,
    ratio: 1,
    ceiling: NaN,
    stolen: base.stolen,
  };
}

/** An HTTP scenario, judged against its targets and its baseline's and ceiling's rows, if it has them. */
async function httpRow(
  server: ServerProcess,
  sql: Sql,
  scenario: Scenario,
  base: Row | undefined,
  ceiling: Row | undefined,
): Promise<Row> {
  console.error(`# ${scenario.name} (HTTP, ${connectionsOf(scenario)} connections, ${duration} s)`);
  const ctx: ScenarioContext = { sql, url: server.url, token, feedEvents, replenishmentRules };
  // Prepared before settling, so that what it writes (orders, feed postings, reservations) is
  // vacuumed, analyzed and checkpointed before the load, as the seed is.
  const make = await scenario.prepare(ctx);
  await settle(sql);
  const { measured, rss, stolen } = await drive(server, sql, scenario, make);
  await scenario.finish?.(ctx);
  const unexpected = [...measured.statuses].filter(
    ([code]) => !((code >= 200 && code < 300) || scenario.expectedStatuses?.includes(code)),
  );
  const errors = [
    ...unexpected.map(([code, count]) => `${count}×${code}`),
    ...(measured.errors ? [`${measured.errors} conn`] : []),
    ...(measured.timeouts ? [`${measured.timeouts} timeouts`] : []),
  ];
  const overBaseline = base ? measured.rps / base.rps : undefined;
  const overCeiling = ceiling ? measured.rps / ceiling.rps : undefined;
  const missed = missedTargets(scenario.targets, {
    rps: measured.rps,
    p99: measured.p99,
    ratio: overBaseline,
    ceiling: overCeiling,
    baselineP99: base?.p99,
    rssMb: rss / (1 << 20),
    unexpected:
      unexpected.reduce((sum, [, count]) => sum + count, 0) + measured.errors + measured.timeouts,
  });
  return {
    scenario: scenario.name,
    rps: measured.rps,
    p50: measured.p50,
    p99: measured.p99,
    errors: errors.join(' ') || '0',
    rss,
    ratio: overBaseline ?? NaN,
    ceiling: overCeiling ?? NaN,
    stolen,
    missed,
  };
}

/**
 * Every selected scenario once, each after its baseline, and the baselines selected by name: one
 * row each, in the order measured. A measurement that is several scenarios' baseline, or a
 * baseline and selected itself, runs once.
 */
/** A server's db_list_reads_total by target, from /metrics. */
async function listReads(server: ServerProcess): Promise<{ replica: number; primary: number }> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const count = (target: string) =>
    Number(
      new RegExp(`^db_list_reads_total\\{target="${target}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0,
    );
  return { replica: count('replica'), primary: count('primary') };
}

/**
 * Waits until the server's replicas have replayed what the bench wrote before (their lag is 0)
 * and may serve lists (db_replica_usable), for up to two minutes.
 */
async function replicaCaughtUp(server: ServerProcess): Promise<void> {
  for (const deadline = Date.now() + 120_000; ; ) {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const usable = [...text.matchAll(/^db_replica_usable\{[^}]*\} (\S+)$/gm)].map((m) => m[1]);
    const lag = [...text.matchAll(/^db_replica_lag_seconds\{[^}]*\} (\S+)$/gm)].map((m) => m[1]);
    if (usable.length && usable.every((v) => v === '1') && lag.every((v) => Number(v) === 0))
      return;
    if (Date.now() > deadline) throw new Error('the replica did not catch up in 120 s');
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Starts a server that reads lists on a replica (the standby made when first needed), for one
 * measurement, stopped after it so that it loads no other; null: no replica can be had.
 */
type ReplicaServer = () => Promise<ServerProcess | null>;

async function runRound(
  server: ServerProcess,
  replicaServer: ReplicaServer,
  sql: Sql,
  databaseUrl: string,
): Promise<Row[]> {
  const rows = new Map<string, Row>();
  const once = async (name: string, measure: () => Promise<Row>) => {
    if (!rows.has(name)) rows.set(name, await measure());
    return rows.get(name)!;
  };
  const measureScenario = async (scenario: Scenario): Promise<Row | undefined> => {
    if (rows.has(scenario.name)) return rows.get(scenario.name);
    const base = scenario.baseline && (await measureBaseline(scenario.baseline));
    const ceiling = scenario.ceiling && (await measureBaseline(scenario.ceiling));
    if (!scenario.replica)
      return once(scenario.name, () => httpRow(server, sql, scenario, base, ceiling));
    const target = await replicaServer();
    if (!target) {
      console.error(
        `# ${scenario.name} skipped: with DATABASE_URL set, DATABASE_REPLICA_URL must name a standby of it`,
      );
      return undefined;
    }
    try {
      await replicaCaughtUp(target);
      const before = await listReads(target);
      const row = await once(scenario.name, () => httpRow(target, sql, scenario, base, ceiling));
      const after = await listReads(target);
      console.error(
        `#   ${after.replica - before.replica} lists read on the replica, ${after.primary - before.primary} on the primary`,
      );
      return row;
    } finally {
      await target.stop('SIGTERM');
    }
  };
  const measureBaseline = (baseline: Baseline): Promise<Row | undefined> => {
    if ('script' in baseline)
      return once(baseline.name, () => pgbenchRow(sql, databaseUrl, baseline));
    const scenario = scenarios.find((s) => s.name === baseline.scenario);
    if (!scenario) throw new Error(`no scenario ${baseline.scenario}, a baseline`);
    return measureScenario(scenario);
  };
  for (const scenario of scenarios) {
    if (!only || only.includes(scenario.name)) await measureScenario(scenario);
    else
      for (const baseline of [scenario.baseline, scenario.ceiling])
        if (baseline && only.includes(baselineName(baseline))) await measureBaseline(baseline);
  }
  return [...rows.values()];
}

const ratio = (r: number) => (Number.isFinite(r) ? `${r.toFixed(2)}×` : '—');

function printTable(rows: Row[]) {
  console.log(
    '| scenario | req/s | p50 | p99 | errors | server peak RSS | ratio to baseline | ratio to ceiling | CPU stolen | targets |',
  );
  console.log('|---|---:|---:|---:|---|---:|---:|---:|---:|---|');
  for (const r of rows) {
    const targets = !r.missed ? '—' : r.missed.length ? `missed: ${r.missed.join('; ')}` : 'met';
    console.log(
      `| ${r.scenario} | ${fmt(r.rps)} | ${fmt(r.p50, 1)} | ${fmt(r.p99, 1)} | ${r.errors} | ${Number.isFinite(r.rss) ? mb(r.rss) : '—'} | ${ratio(r.ratio)} | ${ratio(r.ceiling)} | ${percent(r.stolen)} | ${targets} |`,
    );
  }
}

/** How each scenario fared over the rounds: the share meeting its targets, and medians with ranges. */
function printRounds(results: Map<string, Judged[]>) {
  const range = (s: Spread, show: (n: number) => string) =>
    Number.isFinite(s.median) ? `${show(s.median)} (${show(s.min)}–${show(s.max)})` : '—';
  console.log(
    `\nOver ${rounds} rounds: median (range). Every target: the scenario's own (scripts/bench/scenarios.ts), RSS ≤ ${RSS_LIMIT_MB} MB, no unexpected errors\n`,
  );
  console.log(
    '| scenario | rounds meeting every target | req/s | p50 | p99 | ratio to baseline | ratio to ceiling |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const [scenario, judged] of results) {
    const o = overRounds(judged);
    console.log(
      `| ${scenario} | ${o.met} of ${o.rounds} | ${range(o.rps, (n) => fmt(n))} | ${range(o.p50, (n) => fmt(n, 1))} | ${range(o.p99, (n) => fmt(n, 1))} | ${range(o.ratio, ratio)} | ${range(o.ceiling, ratio)} |`,
    );
  }
}

async function main() {
  if (args.perf) mkdirSync(args.perf, { recursive: true });
  let cluster: EmbeddedPostgres | undefined;
  let adminUrl = process.env.DATABASE_URL;
  const dataDir = join(repoRoot, '.data', `bench-pg-${process.pid}`);
  if (!adminUrl) {
    // Durable settings, like production: every 2xx is a committed, fsynced transaction.
    cluster = await startEmbeddedPostgres({
      dataDir,
      persistent: true,
      settings: args.statements ? STATEMENTS_SETTINGS : [],
    });
    adminUrl = cluster.url;
  }
  const admin = createSql(adminUrl, { max: 1 });
  await dropDatabase(admin, args.database);
  await admin`CREATE DATABASE ${admin(args.database)}`;
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${args.database}`;
  const databaseUrl = url.toString();
  const sql = createSql(databaseUrl, { max: 4 });
  statements = args.statements && (await enableStatements(sql));
  postmasterPid = postmasterOf(
    (await sql<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`)[0].pid,
  );
  let server: ServerProcess | undefined;
  let replica: ServerProcess | undefined;
  let standby: Standby | undefined;
  try {
    await migrate(sql);
    const t0 = Date.now();
    await seed(sql);
    console.error(`# seeded in ${Date.now() - t0} ms`);
    if (!args.autovacuum) await scheduleMaintenance(sql);
    await warmWal(sql);
    const settings =
      await sql`SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'server_version', 'max_connections')`;
    console.error(`# PostgreSQL ${settings.map((s) => `${s.name}=${s.setting}`).join(' ')}`);

    server = await spawnServerProcess(
      {
        DATABASE_URL: databaseUrl,
        AUTH_ISSUER: ISSUER,
        AUTH_AUDIENCE: AUDIENCE,
        AUTH_PUBLIC_KEY: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        RATE_LIMIT_MAX: '1000000000',
        LOG_LEVEL: 'warn',
        NODE_ENV: 'production',
        // Every read on the primary, whatever the bench's own environment says.
        DATABASE_REPLICA_URL: '',
      },
      {
        nodeArgs: [
          ...(args.profile ? ['--cpu-prof', `--cpu-prof-dir=${args.profile}`] : []),
          ...(args.perf ? PERF_NODE_ARGS : []),
        ],
      },
    );
    let replicaUrl: Promise<string | null> | undefined;
    const replicaServer: ReplicaServer = async () => {
      replicaUrl ??= (async () => {
        if (process.env.DATABASE_REPLICA_URL) return process.env.DATABASE_REPLICA_URL;
        if (!cluster) return null;
        const t0 = Date.now();
        standby = await startStandby(adminUrl, dataDir, `${dataDir}-standby`);
        console.error(`# hot standby of the bench's PostgreSQL started in ${Date.now() - t0} ms`);
        const u = new URL(standby.url);
        u.pathname = `/${args.database}`;
        return u.toString();
      })();
      const url = await replicaUrl;
      if (!url) return null;
      replica = await spawnServerProcess({
        DATABASE_URL: databaseUrl,
        DATABASE_REPLICA_URL: url,
        AUTH_ISSUER: ISSUER,
        AUTH_AUDIENCE: AUDIENCE,
        AUTH_PUBLIC_KEY: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        RATE_LIMIT_MAX: '1000000000',
        LOG_LEVEL: 'warn',
        NODE_ENV: 'production',
      });
      return replica;
    };

    // The garbage a settled query leaves: measured once, before the load, on the bench's database.
    const promotion =
      only && !only.includes('query-promotion') ? undefined : await measurePromotion(databaseUrl);
    const results = new Map<string, Judged[]>();
    let violated = false;
    for (let round = 1; round <= rounds; round++) {
      if (rounds > 1) console.error(`# round ${round} of ${rounds}`);
      const rows = await runRound(server, replicaServer, sql, databaseUrl);
      const report = await checkInvariants(sql);
      console.log(
        `\n${rounds > 1 ? `Round ${round} of ${rounds}: ` : ''}${connections} connections, ${duration} s per scenario, after ${warmup} s of warm-up each; latency in ms;`,
      );
      console.log(
        `CPU stolen: the share of the machine's CPU time its hypervisor took while measuring (steal, /proc/stat)\n`,
      );
      printTable(rows);
      console.log(
        `\ninvariants: ${report.checks} checks, ${report.violations.length ? `${report.violations.length} VIOLATIONS` : 'all hold'}`,
      );
      for (const v of report.violations) console.log(`  ${v}`);
      violated ||= report.violations.length > 0;
      for (const { scenario, rps, p50, p99, ratio, ceiling, missed } of rows)
        if (missed)
          results.set(scenario, [
            ...(results.get(scenario) ?? []),
            { rps, p50, p99, ratio, ceiling, missed },
          ]);
    }
    if (rounds > 1) printRounds(results);
    if (promotion) console.log(`\n${describePromotion(promotion)}`);
    process.exitCode = violated ? 1 : 0;
  } finally {
    const serverPid = server?.child.pid;
    await server?.stop('SIGTERM');
    if (args.perf) removePerfMap(serverPid);
    await replica?.stop('SIGTERM');
    await standby?.stop();
    await sql.end();
    if (cluster) {
      await cluster.stop();
      await removeCluster(dataDir);
    }
  }
}

await main();
