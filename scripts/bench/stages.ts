// The server's CPU profile (`npm run bench -- --profile DIR`) by stage of a request: each sample
// goes to the stage of the nearest frame on its stack that belongs to one (a JSON.parse called by
// postgres.js is the driver's; one called by the body parser is parsing's). Printed as shares of
// the time the main thread was not idle, which `CPU per answer` (cpu-use.ts) turns into µs.
//
//   npx tsx scripts/bench/stages.ts DIR/CPU.<…>.cpuprofile
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Stages in the order a posting meets them; a frame belongs to the first whose test it passes. */
const STAGES: { stage: string; test: (f: CallFrame) => boolean }[] = [
  { stage: 'idle', test: (f) => f.functionName === '(idle)' },
  { stage: 'garbage collection', test: (f) => f.functionName === '(garbage collector)' },
  { stage: 'startup (not per request)', test: (f) => /item-index|tsx|loader|esm/.test(f.url) },
  {
    stage: 'authentication (JWT)',
    test: (f) => /server\/plugins\/(auth|jwks)\.ts|@fastify\/jwt|fast-jwt/.test(f.url),
  },
  {
    stage: 'body parsing and validation',
    test: (f) => /json-body\.ts|secure-json-parse|\/ajv|ajv-formats|fast-uri/.test(f.url),
  },
  {
    stage: 'idempotency (fingerprint, keys)',
    test: (f) => /server\/writes\/idempotency\.ts/.test(f.url),
  },
  {
    stage: 'group commit (queue, transaction)',
    test: (f) => /server\/writes\/|db\/client\.ts/.test(f.url),
  },
  {
    stage: 'ledger: planning in memory',
    test: (f) =>
      /handlers\/lib\/(ledger|locations|batches|move-rules|quantity|units|line-units)\.ts|handlers\/stock-moves\.ts/.test(
        f.url,
      ),
  },
  {
    stage: 'events, audit and answers (JSON)',
    test: (f) => /handlers\/lib\/(catalogue|representation)\.ts|domain\/json\.ts/.test(f.url),
  },
  { stage: 'SQL building (db/)', test: (f) => /\/db\/[^/]+\.ts$/.test(f.url) },
  { stage: 'other business rules', test: (f) => /\/(handlers|domain)\//.test(f.url) },
  {
    stage: 'PostgreSQL socket writes',
    test: (f) => /^(writeBuffer|writev|writeUtf8String|writeLatin1String)$/.test(f.functionName),
  },
  { stage: 'PostgreSQL driver (postgres.js)', test: (f) => /node_modules\/postgres\//.test(f.url) },
  {
    stage: 'metrics and logs',
    test: (f) => /prom-client|pino|sonic-boom|access-log\.ts|metrics\.ts/.test(f.url),
  },
  {
    stage: 'event dispatch and webhooks (background)',
    test: (f) => /server\/webhooks\/|feed-position\.ts/.test(f.url),
  },
  {
    stage: 'request plumbing (plugins, operation)',
    test: (f) => /\/server\/|fastify-openapi-glue|@fastify\/rate-limit/.test(f.url),
  },
  {
    stage: 'HTTP (Node and Fastify)',
    test: (f) =>
      /node_modules\/(fastify|find-my-way|avvio|light-my-request|@fastify)|node:_http|node:http/.test(
        f.url,
      ),
  },
];

/** Time in µs by stage (`other` for stacks that meet none, such as socket reads from the event loop). */
export function timeByStage(profile: CpuProfile): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, ProfileNode>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n);
  const stageOf = new Map<number, string>();
  const resolve = (node: ProfileNode): string => {
    const known = stageOf.get(node.id);
    if (known !== undefined) return known;
    const own = STAGES.find((s) => s.test(node.callFrame))?.stage;
    const up = parent.get(node.id);
    const stage = own ?? (up ? resolve(up) : 'other (event loop, sockets)');
    stageOf.set(node.id, stage);
    return stage;
  };
  const time = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const stage = resolve(byId.get(id) as ProfileNode);
    time.set(stage, (time.get(stage) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  return time;
}

/** Shares of the busy (not idle) time, largest first. */
export function busyShares(time: Map<string, number>): [string, number][] {
  const busy = [...time].filter(([stage]) => stage !== 'idle');
  const total = busy.reduce((sum, [, t]) => sum + t, 0);
  return busy
    .map(([stage, t]) => [stage, t / total] as [string, number])
    .sort((a, b) => b[1] - a[1]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: npx tsx scripts/bench/stages.ts FILE.cpuprofile');
    process.exit(2);
  }
  const time = timeByStage(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
  console.log('| stage | share of the busy main thread | busy ms |');
  console.log('|---|---:|---:|');
  for (const [stage, share] of busyShares(time))
    console.log(
      `| ${stage} | ${(100 * share).toFixed(1)} % | ${((time.get(stage) ?? 0) / 1000).toFixed(0)} |`,
    );
}
