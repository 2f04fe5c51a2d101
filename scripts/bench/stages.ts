// The server's CPU by stage of a request: each sample goes to the stage of the nearest frame on its
// stack that belongs to one (a JSON.parse called by postgres.js is the driver's; one called by the
// body parser is parsing's). Two sources:
// - V8's profile (`npm run bench -- --profile DIR`): samples of the main thread's wall time, so a
//   thread waiting for a core shows where it was descheduled (mostly in socket writes, which wake
//   PostgreSQL on the same core);
// - perf's (`npm run bench -- --perf DIR`): samples of CPU time only, of every thread of the server
//   (the collector's helpers too) and of the kernel on its behalf. The bench prints its table in µs
//   per answer (perf.ts); this file reads either.
//
//   npx tsx scripts/bench/stages.ts DIR/CPU.<…>.cpuprofile
//   perf script -F ip,sym,dso -i DIR/<scenario>.perf.data | npx tsx scripts/bench/stages.ts -
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
  {
    stage: 'garbage collection',
    // V8's profile names it; perf names V8's collector functions (on the main thread or its helpers).
    test: (f) =>
      f.functionName === '(garbage collector)' ||
      /^v8::internal::(Scaveng|MarkCompact|Heap::|ConcurrentMarking|Sweeper|ArrayBufferSweeper|Evacuat|MinorMarkSweep|IncrementalMarking|GCTracer|MemoryAllocator)/.test(
        f.functionName,
      ),
  },
  {
    stage: 'JIT compilation (background)',
    test: (f) => /^v8::internal::(compiler|maglev|baseline)::/.test(f.functionName),
  },
  {
    stage: 'kernel (sockets, scheduling)',
    test: (f) => f.url === '[kernel.kallsyms]',
  },
  // A search's walk of the index is per request; loading and refreshing it is not (the helpers
  // both call take their caller's stage: sharedByIndex).
  {
    stage: 'item search (in-memory index)',
    test: (f) =>
      /db\/item-index\.ts/.test(f.url) &&
      /^(search|walk|after|matches|unindexed)$/.test(f.functionName),
  },
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

/** The index's helpers that a search and a load both call: their time is their caller's. */
const sharedByIndex = (f: CallFrame) =>
  /db\/item-index\.ts/.test(f.url) && /^(trigrams|signature|shortGrams)$/.test(f.functionName);

/** Time in µs by stage (`other` for stacks that meet none, such as socket reads from the event loop). */
export function timeByStage(profile: CpuProfile): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, ProfileNode>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n);
  const stageOf = new Map<number, string>();
  const resolve = (node: ProfileNode): string => {
    const known = stageOf.get(node.id);
    if (known !== undefined) return known;
    const up = parent.get(node.id);
    const own = sharedByIndex(node.callFrame)
      ? undefined
      : STAGES.find((s) => s.test(node.callFrame))?.stage;
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

/**
 * `perf script -F ip,sym,dso` output (a sample per block: an empty header line, then its frames,
 * leaf first) as a profile of one sample each. JIT frames are named by Node's --perf-basic-prof
 * (`JS:*plan file:///…/ledger.ts:1:14772`); kernel frames by their DSO.
 */
export function perfSamples(text: string): CpuProfile {
  const nodes: ProfileNode[] = [
    { id: 0, callFrame: { functionName: '(root)', url: '' }, children: [] },
  ];
  const samples: number[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    // Its header line (empty with -F ip,sym,dso) fails the frame pattern, as does any other.
    const frames = block
      .split('\n')
      .map((line) => /^\s*[0-9a-f]+ (.*) \((.*)\)$/.exec(line))
      .filter((m) => m !== null)
      .map(([, symbol, dso]) => {
        const js = /^JS:[*^~+]?(\S*) (\S+?)(?::\d+:\d+)?$/.exec(symbol);
        return js
          ? { functionName: js[1], url: js[2] }
          : { functionName: symbol, url: dso.includes('kernel') ? '[kernel.kallsyms]' : dso };
      });
    if (!frames.length) continue;
    let parent = nodes[0];
    for (const callFrame of frames.reverse()) {
      const node: ProfileNode = { id: nodes.length, callFrame, children: [] };
      parent.children?.push(node.id);
      nodes.push(node);
      parent = node;
    }
    samples.push(parent.id);
  }
  return { nodes, samples, timeDeltas: samples.map(() => 1) };
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
    console.error('usage: npx tsx scripts/bench/stages.ts FILE.cpuprofile | - (perf script text)');
    process.exit(2);
  }
  const time =
    file === '-'
      ? timeByStage(perfSamples(readFileSync(0, 'utf8')))
      : timeByStage(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
  console.log('| stage | share of the busy time | samples (µs for a V8 profile) |');
  console.log('|---|---:|---:|');
  for (const [stage, share] of busyShares(time))
    console.log(`| ${stage} | ${(100 * share).toFixed(1)} % | ${time.get(stage)?.toFixed(0)} |`);
}
