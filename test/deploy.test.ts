// What can be checked of the container files without a Docker engine (there is none here): the
// README documents every variable the server reads, compose.yaml sets only documented variables
// with values the server accepts and that point at its own services, and the Dockerfile's image
// (npm ci --omit=dev, files filtered by .dockerignore) holds everything the server, migrate, seed
// and token commands import, and runs what `npm start` runs, as a user other than root.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { parse } from 'yaml';
import { loadConfig, repoRoot } from '../server/config.ts';
import { startArgs } from '../scripts/lib/spawn-server.ts';

const read = (file: string) => readFileSync(join(repoRoot, file), 'utf8');

/** The variables of the README's configuration table (first column, `NAME` or `NAME`, `NAME`). */
function documentedVariables(): Set<string> {
  const table = read('README.md').split('## Configuration')[1].split('\n## ')[0];
  return new Set(
    [...table.matchAll(/^\|([^|]+)\|/gm)].flatMap(([, cell]) =>
      [...cell.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]),
    ),
  );
}

t.test('the README documents every environment variable the server reads', async (t) => {
  const documented = documentedVariables();
  const source = ['server/config.ts', 'server/main.ts'].map(read).join('\n');
  const read_ = new Set(
    [...source.matchAll(/env\.([A-Z][A-Z0-9_]+)|int\(env, '([A-Z][A-Z0-9_]+)'/g)].map(
      (m) => m[1] ?? m[2],
    ),
  );
  t.ok(read_.size > 10, `found ${read_.size} variables`);
  t.strictSame(
    [...read_].filter((name) => !documented.has(name)),
    [],
    'undocumented',
  );
});

t.test(
  'compose.yaml: the app gets documented settings that point at its own postgres and redis',
  async (t) => {
    const compose = parse(read('compose.yaml'));
    t.strictSame(Object.keys(compose.services).sort(), ['app', 'postgres', 'redis']);
    const { app, postgres } = compose.services;
    const env: Record<string, string> = app.environment;
    t.strictSame(
      Object.keys(env).filter((name) => !documentedVariables().has(name)),
      [],
      'only variables the README documents',
    );
    t.doesNotThrow(() => loadConfig(env), 'values the server accepts');
    t.equal(loadConfig(env).host, '0.0.0.0', 'listens beyond the container');

    const db = new URL(env.DATABASE_URL);
    t.equal(db.hostname, 'postgres');
    t.strictSame(
      [db.username, db.password, db.pathname.slice(1)],
      [
        postgres.environment.POSTGRES_USER,
        postgres.environment.POSTGRES_PASSWORD,
        postgres.environment.POSTGRES_DB,
      ],
    );
    t.equal(new URL(env.REDIS_URL).hostname, 'redis');
    t.strictSame(Object.keys(app.depends_on).sort(), ['postgres', 'redis']);
    t.ok(
      app.ports.some((p: string) => p.endsWith(`:${env.PORT}`)),
      'publishes the port it listens on',
    );
  },
);

/** Dockerfile instructions as [keyword, arguments]. */
function dockerfile(): [string, string][] {
  return read('Dockerfile')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map(
      (l) =>
        [l.split(/\s+/)[0].toUpperCase(), l.slice(l.indexOf(' ') + 1).trim()] as [string, string],
    );
}

t.test(
  'Dockerfile: Node 20, production dependencies, not root, runs what npm start runs',
  async (t) => {
    const steps = dockerfile();
    const args = (keyword: string) => steps.filter(([k]) => k === keyword).map(([, a]) => a);
    t.match(args('FROM')[0], /^node:20(-|$)/);
    t.match(args('RUN').join('\n'), /npm ci --omit=dev/);
    t.notOk(['root', '0'].includes(args('USER').at(-1)!), 'runs as an unprivileged user');
    const cmd: string[] = JSON.parse(args('CMD').at(-1)!);
    const start = JSON.parse(read('package.json')).scripts.start as string;
    t.strictSame(
      ['exec', ...cmd],
      start.split(' '),
      'CMD runs what npm start execs (so signals reach it), with the same Node flags',
    );
    t.strictSame(
      startArgs(),
      cmd.slice(1),
      'and so do the tests and the bench (spawnServerProcess)',
    );
    t.ok(cmd.join(' ').includes('--import tsx server/main.ts'), 'through tsx');
    const env = args('ENV').join(' ');
    t.match(env, /HOST=0\.0\.0\.0/);
    t.equal(args('EXPOSE')[0], /PORT=(\d+)/.exec(env)![1], 'exposes the port it listens on');
    for (const copy of args('COPY').filter((a) => a !== '. .')) {
      for (const source of copy.split(/\s+/).slice(0, -1))
        t.ok(existsSync(join(repoRoot, source)), `COPY ${source} exists`);
    }
  },
);

/** Every file reachable by static or dynamic import from `entries`, and the packages they import. */
function importGraph(entries: string[]): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const { fileName } of ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
      .importedFiles) {
      if (fileName.startsWith('.')) visit(resolve(dirname(file), fileName.replace(/\.js$/, '.ts')));
      else if (!fileName.startsWith('node:') && !builtinModules.includes(fileName)) {
        packages.add(
          fileName.startsWith('@')
            ? fileName.split('/').slice(0, 2).join('/')
            : fileName.split('/')[0],
        );
      }
    }
  };
  for (const entry of entries) visit(join(repoRoot, entry));
  return { files, packages };
}

t.test('the image has everything npm start, migrate, seed and token import', async (t) => {
  const root = JSON.parse(read('package.json'));
  const sdk = JSON.parse(read('generated/package.json'));
  // npm ci --omit=dev installs the dependencies, and the workspace's (the SDK's) with them.
  const installed = new Set([
    ...Object.keys(root.dependencies),
    ...Object.keys(sdk.dependencies),
    sdk.name,
  ]);
  const entries = [
    'server/main.ts',
    ...['migrate', 'seed', 'token'].map((s) => root.scripts[s].replace(/^tsx /, '')),
  ];
  const { files, packages } = importGraph(entries);
  t.strictSame(
    [...packages].filter((p) => !installed.has(p)),
    [],
    'imported but left out by --omit=dev',
  );

  const ignored = read('.dockerignore')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'));
  const excluded = [...files]
    .map((f) => relative(repoRoot, f))
    .filter((f) => ignored.some((pattern) => f === pattern || f.startsWith(`${pattern}/`)));
  t.strictSame(excluded, [], 'imported but excluded by .dockerignore');
  t.ok(files.size > 40, `${files.size} files checked`);
});
