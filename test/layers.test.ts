// The layers import one way only (docs/architecture.md, "Layout"): server → handlers → db, and
// domain below them all. Business rules never reach for HTTP (handlers → server), SQL never for
// business rules or HTTP, and the domain module needs nothing of the layers that use it.
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

/** The repository's top-level folders a file imports from (relative imports only). */
function importedFolders(file: string): Set<string> {
  const text = readFileSync(path.join(REPO_ROOT, file), 'utf8');
  const folders = new Set<string>();
  for (const [, spec] of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
    const target = path.relative(REPO_ROOT, path.resolve(REPO_ROOT, path.dirname(file), spec));
    folders.add(target.split(path.sep)[0]);
  }
  return folders;
}

const forbidden: Record<string, string[]> = {
  handlers: ['server', 'scripts', 'test'],
  db: ['server', 'handlers', 'scripts', 'test'],
  domain: ['server', 'handlers', 'db', 'scripts', 'test'],
};

for (const [layer, banned] of Object.entries(forbidden)) {
  t.test(`${layer}/ imports nothing from ${banned.join(', ')}`, async (t) => {
    const files = sources(layer);
    t.ok(files.length > 3, `${files.length} files read`);
    const offending = files.flatMap((file) =>
      [...importedFolders(file)].filter((f) => banned.includes(f)).map((f) => `${file} → ${f}/`),
    );
    t.same(offending, [], 'no such import');
  });
}

t.test('the check sees an import across layers', async (t) => {
  // server/ imports handlers/, so an import the rule would forbid is found where it exists.
  t.ok(importedFolders('server/app.ts').has('handlers'));
  t.ok(importedFolders('server/app.ts').has('domain'));
});
