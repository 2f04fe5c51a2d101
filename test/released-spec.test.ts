// The released contract (spec/released/<version>.json, frozen when it was published) against
// today's: the server, the spec and the SDK carry one version, the current version's contract is
// exactly its frozen copy, and every operation a released version served is still served, at the
// same method and path. Stricter checks of what changed (fields, inputs) are what the
// compatibility policy (CHANGELOG.md) adds as the contract grows.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { REPO_ROOT } from '../db/embedded.ts';
import { operations, spec } from '../server/spec.ts';

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
