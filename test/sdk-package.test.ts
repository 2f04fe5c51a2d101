// The SDK as a partner installs it (docs/sdk.md): built (npm run build:sdk), packed, installed from
// the tarball into a fresh project with no tsx and none of the SDK's TypeScript sources, then used
// by an ES module, a CommonJS module and a TypeScript program compiled with tsc, all run by plain
// node against a real server. Each pages through 250 items, posts a stock move through a proxy
// that answers 503 and then 429 first (one effect in the database), narrows an over-issuance
// problem, and verifies a real webhook delivery. In the same project, against a server with the
// demo data, the code of docs/getting-started.md and docs/sdk.md's ES module and CommonJS snippets
// run as the docs write them: what a reader copies is what is tested.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { buildSdk } from '../scripts/build-sdk.ts';
import { repoRoot } from '../server/config.ts';
import { freshDatabase } from './helpers/db.ts';
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
  // Older CommonJS projects resolve with node10, which ignores exports: both entries still have types.
  await writeFile(
    join(dir, 'node10.ts'),
    "import { createApiClient } from '@inventory-api/sdk';\n" +
      "import { isProblem } from '@inventory-api/sdk/problems';\n" +
      'export const used = [createApiClient, isProblem];\n',
  );
  await run(
    join(repoRoot, 'node_modules/.bin/tsc'),
    [
      '--noEmit',
      '--strict',
      '--target',
      'es2022',
      '--module',
      'commonjs',
      '--moduleResolution',
      'node10',
      '--lib',
      'es2022,dom,dom.iterable',
      'node10.ts',
    ],
    { cwd: dir },
  );
  return dir;
}

/**
 * The ```js blocks of a doc whose first line is the comment `// <file>` (the file they go in, as the
 * doc tells the reader), exactly as written, one after the other.
 */
async function docCode(doc: string, file: string): Promise<string> {
  const markdown = await readFile(join(repoRoot, doc), 'utf8');
  const blocks = [...markdown.matchAll(/^```js\n([\s\S]*?)^```$/gm)]
    .map((m) => m[1])
    .filter((code) => code.startsWith(`// ${file}\n`) || code.startsWith(`// ${file} `));
  if (!blocks.length) throw new Error(`${doc} has no \`// ${file}\` code block`);
  return blocks.join('\n');
}

// Built, packed and installed once, for every test below (before them: with a top-level await the
// root test would end, and remove the project, while it is being made).
let dir = '';
t.before(async () => {
  dir = await consumerProject(t);
});

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

t.test(
  'docs/getting-started.md and the snippets of docs/sdk.md run as written against the demo data',
  async (t) => {
    // As examples.test.ts: the demo data of `npm run seed`, on the database the server then serves.
    const { url } = await freshDatabase(t);
    await run(process.execPath, ['--import', 'tsx', join(repoRoot, 'scripts/seed.ts')], {
      cwd: repoRoot,
      env: { ...process.env, DATABASE_URL: url },
    });
    const s = await startServer(t, { databaseUrl: url, env: WEBHOOK_TEST_ENV });
    const api = s.client();
    const env = { PATH: process.env.PATH, API_URL: s.url, API_TOKEN: s.token() };
    const node = async (script: string) => {
      const { stdout, stderr } = await run(process.execPath, [script], { cwd: dir, env });
      return { stdout, stderr };
    };

    await writeFile(join(dir, 'guide.mjs'), await docCode('docs/getting-started.md', 'guide.mjs'));
    // Twice: the guide says it can be run again as it is.
    for (const round of [1, 2]) {
      await t.test(`node guide.mjs, run ${round}`, async (t) => {
        const before = (await level(api, 'sku-1', 'WH-A'))?.on_hand ?? 0;
        const { stdout, stderr } = await node('guide.mjs');
        t.equal(stderr, '', 'nothing on stderr');
        t.match(
          stdout,
          /^items: CABLE-3G15 \(Installation cable 3G1\.5 mm²\), DRILL-18V \(Cordless drill 18 V\), /m,
          'first read: the demo items',
        );
        t.match(stdout, /^more items: yes$/m);
        const move = /^stock move (sm_\S+) POSTED \(HTTP 201\)$/m.exec(stdout)?.[1];
        t.ok(move, 'the stock move posted');
        t.match(
          stdout,
          `same key again: HTTP 201, Idempotent-Replayed: true, the same move ${move}, posted once`,
          'the retry with the same key replayed the first answer',
        );
        const [{ n }] =
          await s.sql`SELECT count(*)::int AS n FROM stock_moves WHERE idempotency_key = (SELECT idempotency_key FROM stock_moves WHERE id = ${String(move)})`;
        t.equal(n, 1, 'one stock move for the key');
        const available =
          /^409 over-issuance: 1000000 of sku-1 asked, (\d+) available in WH-A; nothing posted$/m.exec(
            stdout,
          )?.[1];
        t.equal(Number(available), before + 10, 'available: the stock, with the receipt once');
        const endpoint =
          /^webhook endpoint (whk_\S+) → http:\/\/127\.0\.0\.1:\d+\/webhooks\/inventory$/m.exec(
            stdout,
          )?.[1];
        t.ok(endpoint, 'the endpoint registered, on loopback');
        t.match(
          stdout,
          /^delivery evt_\S+ inventory\.stock_move\.posted for sm_\S+: signature verified$/m,
          'the transfer delivered and verified',
        );
        t.match(stdout, `webhook endpoint ${endpoint} deleted (HTTP 204)`);
        t.match(stdout, /^done: every step of the guide ran$/m);
        t.equal((await level(api, 'sku-1', 'WH-A'))?.on_hand, before + 5, '+10, then 5 moved on');
        const [{ endpoints }] =
          await s.sql`SELECT count(*)::int AS endpoints FROM webhook_endpoints`;
        t.equal(endpoints, 0, 'it deleted its endpoint');
      });
    }

    await t.test("docs/sdk.md's ES module snippet", async (t) => {
      await writeFile(join(dir, 'example.mjs'), await docCode('docs/sdk.md', 'example.mjs'));
      const before = (await level(api, 'sku-1', 'WH-B'))?.on_hand ?? 0;
      const { stdout, stderr } = await node('example.mjs');
      t.equal(stderr, '', 'no problem');
      t.match(stdout, /^sm_\S+ POSTED\n$/, 'it prints the move it posted');
      t.equal((await level(api, 'sku-1', 'WH-B'))?.on_hand, before + 10, 'the transfer arrived');
    });

    await t.test("docs/sdk.md's CommonJS snippet", async (t) => {
      await writeFile(join(dir, 'example.cjs'), await docCode('docs/sdk.md', 'example.cjs'));
      const { stdout, stderr } = await node('example.cjs');
      t.equal(stderr, '');
      const items = await s.sql`SELECT id, sku, name FROM items ORDER BY id COLLATE "C"`;
      t.same(
        stdout.trim().split('\n').sort(),
        items.map((i) => `${i.id} ${i.sku} ${i.name}`).sort(),
        'every item of the demo data, once',
      );
    });
  },
);
