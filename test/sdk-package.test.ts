// The SDK as a partner installs it (docs/sdk.md): built (npm run build:sdk), packed, installed from
// the tarball into a fresh project with no tsx and none of the SDK's TypeScript sources, then used
// by an ES module, a CommonJS module and a TypeScript program compiled with tsc, all run by plain
// node against a real server. Each pages through 250 items, posts a stock move through a proxy
// that answers 503 and then 429 first (one effect in the database), narrows an over-issuance
// problem, and verifies a real webhook delivery.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { buildSdk } from '../scripts/build-sdk.ts';
import { repoRoot } from '../server/config.ts';
import { faultProxy } from './helpers/http-faults.ts';
import { startServer } from './helpers/server.ts';
import { createItem, createWarehouses, level, posted } from './helpers/stock.ts';
import { startReceiver, subscribe, WEBHOOK_TEST_ENV } from './helpers/webhooks.ts';
import { waitFor } from './helpers/wait.ts';

const run = promisify(execFile);
const fixtures = join(repoRoot, 'test/fixtures/sdk-consumer');
const WAREHOUSE = 'WH-SDK';
const ITEM = 'sdk-000';

// npm run by `npm test` passes its settings down as npm_* variables (workspace, prefix, ...); the
// consumer's npm must act on its own project, so only the cache and user config are kept.
const npmEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([name]) =>
      !name.startsWith('npm_') || name === 'npm_config_cache' || name === 'npm_config_userconfig',
  ),
);

/** The installed folders of the SDK's dependencies, and of theirs, in this repository's node_modules. */
function dependencyDirs(): string[] {
  const dirs = new Set<string>();
  const visit = (pkgJson: string) => {
    const { dependencies = {} } = JSON.parse(readFileSync(pkgJson, 'utf8'));
    for (const name of Object.keys(dependencies)) {
      const dir = join(repoRoot, 'node_modules', name);
      if (dirs.has(dir)) continue;
      dirs.add(dir);
      visit(join(dir, 'package.json'));
    }
  };
  visit(join(repoRoot, 'generated/package.json'));
  return [...dirs];
}

/** A fresh project with the packed SDK installed from the local npm cache; returns its directory. */
async function consumerProject(t: Test): Promise<string> {
  buildSdk();
  const dir = await mkdtemp(join(tmpdir(), 'sdk-consumer-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const { stdout } = await run(
    'npm',
    ['pack', './generated', '--json', '--pack-destination', dir],
    { cwd: repoRoot, env: npmEnv },
  );
  const [{ filename, files }] = JSON.parse(stdout) as [
    { filename: string; files: { path: string }[] },
  ];
  const packed = files.map((f) => f.path);
  t.ok(packed.includes('dist/esm/client.js') && packed.includes('dist/cjs/client.cjs'), 'built');
  t.same(
    packed.filter((p) => !/^dist\/(esm|cjs)\//.test(p)).sort(),
    ['README.md', 'openapi.json', 'package.json'],
    'nothing but the build, the README and the contract',
  );
  await writeFile(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'sdk-consumer', private: true, type: 'module' }),
  );
  // `npm install --offline <the tarball>` alone fails with ENOTCACHED: the repository was installed
  // from its lockfile, so the cache holds tarballs but not the registry documents npm needs to
  // resolve `openapi-fetch@^0.17.0`. The SDK's dependencies are packed from node_modules instead
  // and installed with it, all offline: the suite needs no registry.
  const deps = await run(
    'npm',
    ['pack', ...dependencyDirs(), '--json', '--pack-destination', dir],
    {
      cwd: repoRoot,
      env: npmEnv,
    },
  );
  const depFiles = (JSON.parse(deps.stdout) as { filename: string }[]).map((d) =>
    join(dir, d.filename),
  );
  await run(
    'npm',
    [
      'install',
      '--offline',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      join(dir, filename),
      ...depFiles,
    ],
    { cwd: dir, env: npmEnv },
  );
  for (const file of ['consumer.mjs', 'consumer.cjs', 'consumer.ts'])
    await copyFile(join(fixtures, file), join(dir, file));
  // A strict project with no Node types: what the package's declarations need is fetch and the DOM lib.
  await writeFile(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'es2022',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        lib: ['es2022', 'dom', 'dom.iterable'],
        types: [],
        strict: true,
        outDir: 'out',
      },
      files: ['consumer.ts'],
    }),
  );
  await run(join(repoRoot, 'node_modules/.bin/tsc'), ['-p', join(dir, 'tsconfig.json')], {
    cwd: dir,
  });
  return dir;
}

interface Output {
  items: number;
  distinct: number;
  move: { id: string; status: string } | null;
  overIssuance: false | { available: number; requested: number; status: number };
  event: { id: string; type: string };
  tampered: string;
}

t.test(
  'the packed SDK runs from ESM, CommonJS and compiled TypeScript with plain node',
  async (t) => {
    const dir = await consumerProject(t);

    const s = await startServer(t, { env: WEBHOOK_TEST_ENV });
    const api = s.client();
    await createWarehouses(api, WAREHOUSE);
    const ids = Array.from({ length: 250 }, (_, i) => `sdk-${String(i).padStart(3, '0')}`);
    for (let i = 0; i < ids.length; i += 25)
      await Promise.all(ids.slice(i, i + 25).map((id) => createItem(api, id)));

    // One real delivery for the consumers to verify.
    const receiver = await startReceiver(t);
    const endpoint = await subscribe(s.url, receiver);
    const first = await posted(api, {
      type: 'RECEIPT',
      to_wh: WAREHOUSE,
      lines: [{ item_id: ITEM, qty: 10 }],
    });
    const [delivery] = await waitFor(
      'the delivery',
      () => receiver.received.length > 0 && receiver.received,
    );
    const signed = ['webhook-id', 'webhook-timestamp', 'webhook-signature'];

    const proxy = await faultProxy(t, s.url);
    const env = {
      PATH: process.env.PATH,
      API_URL: s.url,
      PROXY_URL: proxy.url,
      API_TOKEN: s.token(),
      WAREHOUSE,
      ITEM,
      DELIVERY: JSON.stringify({
        body: delivery.body,
        headers: Object.fromEntries(signed.map((h) => [h, delivery.headers[h]])),
        secret: endpoint.secret,
      }),
    };

    for (const [kind, script] of [
      ['ES module', 'consumer.mjs'],
      ['CommonJS', 'consumer.cjs'],
      ['TypeScript compiled by tsc', 'out/consumer.js'],
    ] as const) {
      await t.test(kind, async (t) => {
        proxy.seen.length = 0;
        proxy.faults.push({ status: 503 }, { status: 429 });
        const before = (await level(api, ITEM, WAREHOUSE))?.on_hand ?? 0;
        const { stdout } = await run(process.execPath, [script], { cwd: dir, env });
        const out = JSON.parse(stdout) as Output;

        t.same([out.items, out.distinct], [250, 250], 'paginate: every item once');

        t.equal(out.move?.status, 'POSTED', 'the stock move went through the 503 and the 429');
        const posts = proxy.seen.filter((r) => r.method === 'POST');
        t.same(
          posts.map((r) => r.answer),
          [503, 429, 'forwarded'],
          'sent three times, answered by the server once',
        );
        const keys = new Set(posts.map((r) => r.headers['idempotency-key']));
        t.equal(keys.size, 1, 'one Idempotency-Key, made by the SDK, on every attempt');
        const [key] = keys;
        t.ok(key, 'the key is there');
        const moves =
          await s.sql`SELECT id FROM stock_moves WHERE idempotency_key = ${String(key)}`;
        t.same(
          moves.map((m) => m.id),
          [out.move?.id],
          'exactly one stock move for it',
        );
        const after = (await level(api, ITEM, WAREHOUSE))?.on_hand;
        t.equal(after, before + 5, 'one effect on stock');

        t.same(
          out.overIssuance,
          { available: after, requested: 1000000, status: 409 },
          'isProblem narrowed the over-issuance problem',
        );
        t.same(
          out.event,
          { id: delivery.headers['webhook-id'], type: 'inventory.stock_move.posted' },
          'the real delivery verified',
        );
        t.equal(out.tampered, 'WebhookVerificationError', 'a changed body is refused');
      });
    }
    t.ok(first.id, 'the first move posted');
  },
);
