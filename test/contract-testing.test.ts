// What docs/contract-testing.md tells a partner to run in CI, run here: the sandbox (`npm run
// sandbox`: the real server, its own embedded PostgreSQL, the demo data) behind
// `prism proxy --errors spec/openapi.yaml`, with the SDK's whole flow (examples/flow.ts) and every
// request example of the spec sent through it; none may come back off the contract. And that the
// proxy does catch what is off it, against a fake upstream that answers a wrong shape. Prism is a
// pinned devDependency, so nothing here needs the registry; everything listens on loopback.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { repoRoot } from '../server/config.ts';
import { operations } from '../server/spec.ts';
import { operationSpec, parametersOf } from './helpers/spec-requests.ts';

const run = promisify(execFile);
const PRISM = join(repoRoot, 'node_modules/.bin/prism');
/** Prism's own answers (an off-contract response, a request it refused) have types under this. */
const PRISM_PROBLEM = 'https://stoplight.io/prism/errors#';

interface Started {
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

/** Starts a long-running command and resolves once its output matches `ready`. */
async function start(
  t: Test,
  command: string,
  args: string[],
  ready: RegExp,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Started & { match: RegExpExecArray }> {
  const child = spawn(command, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  t.teardown(stop);
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const seen = (chunk: Buffer) => {
      output += chunk;
      const m = ready.exec(output);
      if (m) resolve(m);
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
    child.once('exit', (code) => reject(new Error(`${command} exited (${code}):\n${output}`)));
  });
  return { child, output: () => output, stop, match };
}

/** `npm run sandbox -- --port N`, run as npm runs it: the URL, the token and its data dir. */
async function startSandbox(t: Test, port: number) {
  const script: string = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).scripts
    .sandbox;
  const file = script.split(' ').at(-1)!; // exec node --import tsx scripts/sandbox.ts
  const sandbox = await start(
    t,
    process.execPath,
    ['--import', 'tsx', join(repoRoot, file), '--port', String(port)],
    /API_URL=(\S+)\nAPI_TOKEN=(\S+)\n/,
    // A shell's settings of a real deployment, which the sandbox must not use: were it to, the
    // server would not start (nothing listens on port 1) or would refuse the dev token.
    {
      ...process.env,
      DATABASE_URL: 'postgres://nobody@127.0.0.1:1/nowhere',
      AUTH_ISSUER: 'https://auth.example.invalid/',
      REDIS_URL: 'redis://127.0.0.1:1',
    },
  );
  const dataDir = /data in (\S+),/.exec(sandbox.output())?.[1];
  return { ...sandbox, url: sandbox.match[1], token: sandbox.match[2], dataDir };
}

/** `prism proxy --errors spec/openapi.yaml <upstream>` on a free loopback port. */
async function startProxy(t: Test, upstream: string) {
  const proxy = await start(
    t,
    PRISM,
    ['proxy', '--errors', 'spec/openapi.yaml', upstream, '-h', '127.0.0.1', '-p', '0'],
    /Prism is listening on (http:\/\/127\.0\.0\.1:\d+)/,
  );
  return { ...proxy, url: proxy.match[1] };
}

/** A loopback port free right now: the sandbox's, known before it starts so that its proxy can
 *  start alongside it (each takes seconds). */
async function freePort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** An upstream that answers every request with the wrong shape for a list of items. */
async function startWrongUpstream(t: Test) {
  const upstream = { url: '', forwarded: 0 };
  const server = createServer((_req, res) => {
    upstream.forwarded++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ data: 'not a list' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  upstream.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return upstream;
}

interface ExampleRequest {
  name: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: unknown;
}

/**
 * Every operation with the spec's example values: path and required parameters from their
 * examples (a fresh Idempotency-Key each), and once per body example (none: no body).
 */
function exampleRequests(): ExampleRequest[] {
  const requests: ExampleRequest[] = [];
  for (const meta of operations.values()) {
    // Its example targets a host on the internet (erp.example.com); this test stays on loopback
    // (examples/flow.ts creates an endpoint on a loopback receiver instead).
    if (meta.operationId === 'createWebhookEndpoint') continue;
    const op = operationSpec(meta);
    let path = meta.path;
    const query = new URLSearchParams();
    const headers: Record<string, string> = {};
    for (const p of parametersOf(meta)) {
      const example = p.example ?? p.schema?.example;
      if (p.in === 'path') path = path.replace(`{${p.name}}`, encodeURIComponent(example));
      else if (p.in === 'header' && p.name.toLowerCase() === 'idempotency-key')
        headers[p.name] = randomUUID();
      else if (p.required && p.in === 'header') headers[p.name] = String(example);
      else if (p.required && p.in === 'query') query.set(p.name, String(example));
    }
    if (query.size) path += `?${query}`;
    const media = op.requestBody?.content?.['application/json'];
    const bodies: [string, unknown][] = media?.examples
      ? Object.entries<any>(media.examples).map(([k, v]) => [k, v.value])
      : media?.example !== undefined
        ? [['example', media.example]]
        : [];
    if (bodies.length === 0 && media) continue; // a body is needed and the spec gives none
    for (const [example, body] of bodies.length ? bodies : [['', undefined] as const]) {
      const keyed = Object.fromEntries(
        Object.entries(headers).map(([k, v]) => [
          k,
          k.toLowerCase() === 'idempotency-key' ? randomUUID() : v,
        ]),
      );
      requests.push({
        name: `${meta.operationId}${example ? ` (${example})` : ''}`,
        method: meta.method,
        path,
        headers: keyed,
        body,
      });
    }
  }
  return requests;
}

// The three take seconds each to start: all at once.
const port = await freePort();
const wrong = await startWrongUpstream(t);
const [sandbox, proxy, wrongProxy] = await Promise.all([
  startSandbox(t, port),
  startProxy(t, `http://127.0.0.1:${port}`),
  startProxy(t, wrong.url),
]);

t.test(
  'the sandbox behind prism proxy --errors: the SDK flow and the spec examples stay on the contract',
  async (t) => {
    t.ok(sandbox.dataDir && existsSync(sandbox.dataDir), 'the sandbox runs on its own data dir');
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'examples/flow.ts')],
      { cwd: repoRoot, env: { ...process.env, API_URL: proxy.url, API_TOKEN: sandbox.token } },
    );
    t.match(stdout, /^OK: the whole flow ran$/m, 'examples/flow.ts through the proxy');

    const answers: { name: string; status: number; violations: string | null; type?: string }[] =
      [];
    for (const req of exampleRequests()) {
      const res = await fetch(`${proxy.url}${req.path}`, {
        method: req.method,
        headers: {
          authorization: `Bearer ${sandbox.token}`,
          ...(req.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...req.headers,
        },
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
      });
      const text = await res.text();
      let type: string | undefined;
      try {
        type = JSON.parse(text)?.type;
      } catch {
        type = undefined;
      }
      answers.push({
        name: req.name,
        status: res.status,
        violations: res.headers.get('sl-violations'),
        type,
      });
    }
    t.ok(answers.length > 50, `${answers.length} example requests sent`);
    t.same(
      answers.filter((a) => a.violations !== null || a.type?.startsWith(PRISM_PROBLEM)),
      [],
      'no answer off the contract (an sl-violations header, or a problem Prism made)',
    );
    // The demo data has the examples' ids (README, Demo data): most examples do what they say.
    const succeeded = answers.filter((a) => a.status < 300).map((a) => a.name);
    for (const name of [
      'getWarehouse',
      'getItem',
      'getVendor',
      'createStockMove (transfer)',
      'createStockMove (receipt_batch)',
      'createStockMove (issue_serials)',
    ])
      t.ok(succeeded.includes(name), `${name} succeeded`);
    t.notMatch(proxy.output(), /Violation:/, "nothing in Prism's log either");

    await sandbox.stop();
    t.equal(sandbox.child.exitCode, 0, 'the sandbox stops cleanly on SIGTERM');
    t.notOk(existsSync(sandbox.dataDir!), 'and removes its data dir');
  },
);

t.test(
  'prism proxy --errors answers a response off the contract with 500 VIOLATIONS, and refuses a request off it',
  async (t) => {
    const auth = { authorization: 'Bearer any-token' };

    const res = await fetch(`${wrongProxy.url}/inventory/items`, { headers: auth });
    t.equal(res.status, 500);
    t.match(res.headers.get('content-type'), /^application\/problem\+json/);
    const problem = await res.json();
    t.equal(problem.type, `${PRISM_PROBLEM}VIOLATIONS`);
    t.ok(
      problem.validation.some(
        (v: { location: string[] }) => v.location.join('.') === 'response.body.data',
      ),
      'it names the field off the contract',
    );
    const header = JSON.parse(res.headers.get('sl-violations') ?? '[]');
    t.same(header, problem.validation, 'and lists the same violations in sl-violations');
    t.equal(wrong.forwarded, 1);

    // A request off the contract never reaches the upstream: Prism answers it.
    const bad = await fetch(`${wrongProxy.url}/inventory/stock-moves`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'TRANSFER' }),
    });
    t.equal(bad.status, 422);
    t.equal((await bad.json()).type, `${PRISM_PROBLEM}UNPROCESSABLE_ENTITY`);
    t.equal(wrong.forwarded, 1, 'not forwarded');
  },
);
