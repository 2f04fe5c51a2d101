// The released contract (spec/released/<version>.json, frozen when it was published) against
// today's: the server, the spec and the SDK carry one version, the current version's contract is
// exactly its frozen copy, every operation a released version served is still served, at the
// same method and path, and every breaking change between two versions (by the compatibility
// policy in CHANGELOG.md, as scripts/lib/spec-diff.ts reads it) is announced in CHANGELOG.md, by
// the convention written at its top. test/spec-diff.test.ts tests the comparison itself.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { REPO_ROOT } from '../db/embedded.ts';
import { operations, spec } from '../server/spec.ts';
import {
  announcement,
  breakingChanges,
  changelogEntries,
  compareVersions,
} from '../scripts/lib/spec-diff.ts';

const json = (file: string) => JSON.parse(readFileSync(path.join(REPO_ROOT, file), 'utf8'));
const released = readdirSync(path.join(REPO_ROOT, 'spec/released')).filter((f) =>
  f.endsWith('.json'),
);

t.test('one version for the server, the spec and the SDK', async (t) => {
  t.equal(json('package.json').version, spec.info.version, 'package.json = the spec');
  t.equal(json('generated/package.json').version, spec.info.version, 'the SDK = the spec');
  t.ok(
    released.includes(`${spec.info.version}.json`),
    `${spec.info.version} is frozen in spec/released/`,
  );
  t.strictSame(
    json(`spec/released/${spec.info.version}.json`),
    spec,
    'a released version does not change: a changed contract is a new version, frozen anew',
  );
});

for (const file of released) {
  t.test(
    `every operation of released ${file} is still served, at the same method and path`,
    async (t) => {
      const old = json(`spec/released/${file}`);
      t.equal(`${old.info.version}.json`, file, 'the file is named after its version');
      const gone: string[] = [];
      for (const [route, item] of Object.entries<Record<string, { operationId?: string }>>(
        old.paths,
      )) {
        for (const [method, op] of Object.entries(item)) {
          if (!op.operationId) continue;
          const now = operations.get(op.operationId);
          if (now?.method !== method.toUpperCase() || now.path !== route)
            gone.push(`${method.toUpperCase()} ${route} (${op.operationId})`);
        }
      }
      t.ok(Object.keys(old.paths).length > 10, 'the released spec has its paths');
      t.same(gone, [], 'none removed or moved');
    },
  );
}

// Every version in order: the released ones, and the current spec when it is not released yet.
const versions: { version: string; doc: any }[] = released
  .map((file) => json(`spec/released/${file}`))
  .map((doc) => ({ version: doc.info.version as string, doc }));
if (!versions.some((v) => v.version === spec.info.version))
  versions.push({ version: spec.info.version, doc: spec });
versions.sort((a, b) => compareVersions(a.version, b.version));
const changelog = changelogEntries(readFileSync(path.join(REPO_ROOT, 'CHANGELOG.md'), 'utf8'));

// Each pair, not only neighbours: a change made in one version and announced in it stays
// announced for a client skipping versions, and one slipped in across versions is caught.
for (const [i, older] of versions.entries()) {
  for (const newer of versions.slice(i + 1)) {
    t.test(`${older.version} → ${newer.version}: every breaking change is announced`, async (t) => {
      const sections = changelog.filter(
        (e) =>
          compareVersions(e.version, older.version) > 0 &&
          compareVersions(e.version, newer.version) <= 0,
      );
      t.ok(
        sections.some((e) => e.version === newer.version),
        `CHANGELOG.md has a section for ${newer.version}`,
      );
      const unannounced = breakingChanges(older.doc, newer.doc)
        .filter((change) => !announcement(change, sections))
        .map(
          (c) =>
            `${c.operation} (${c.route}), ${c.where}${c.name ? `: ${c.name}` : ''}: ${c.message}`,
        );
      t.same(
        unannounced,
        [],
        `breaking changes no bullet of CHANGELOG.md ${newer.version} announces (the convention is at its top)`,
      );
    });
  }
}
