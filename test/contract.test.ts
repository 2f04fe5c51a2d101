// The spec and the code never disagree: every operation has a handler, generated/ is fresh, and
// operations not built yet answer 501 problem+json (listed here). Linting: test/lint.test.ts.
import t from 'tap';
import { handlers } from '../handlers/index.ts';
import { pendingOperations } from '../handlers/pending.ts';
import { operations, spec } from '../server/spec.ts';
import { staleFiles } from '../scripts/gen.ts';
import { startServer } from './helpers/server.ts';

t.test('every operationId in the spec has a handler, and every handler an operation', async (t) => {
  t.strictSame(Object.keys(handlers).sort(), [...operations.keys()].sort());
});

t.test('generated/ is up to date with spec/openapi.yaml', async (t) => {
  t.strictSame(await staleFiles(), [], 'run npm run gen');
});

/** A request the spec accepts for this operation: path ids, required headers, and the spec's own example body. */
function exampleRequest(operationId: string) {
  const meta = operations.get(operationId)!;
  const op = spec.paths[meta.path][meta.method.toLowerCase()];
  const media = op.requestBody?.content?.['application/json'];
  const body =
    media?.example ?? (media?.examples ? Object.values<any>(media.examples)[0].value : undefined);
  const headers: Record<string, string> = {};
  if (meta.idempotency === 'required') headers['idempotency-key'] = `contract-${operationId}`;
  if (meta.ifMatch === 'required') headers['if-match'] = '"v1"';
  return { path: meta.path.replace(/\{[^}]+\}/g, 'x-1'), method: meta.method, headers, json: body };
}

t.test(
  'operations not built yet answer 501 not-implemented as problem+json',
  { skip: pendingOperations.length ? false : 'every operation is implemented' },
  async (t) => {
    t.comment(`not implemented yet (${pendingOperations.length}): ${pendingOperations.join(', ')}`);
    const s = await startServer(t);
    for (const operationId of pendingOperations) {
      const { path, method, headers, json } = exampleRequest(operationId);
      const res = await s.request(path, { method, headers, json });
      t.equal(res.status, 501, `${operationId} → 501`);
      t.match(res.headers.get('content-type'), /^application\/problem\+json/);
      t.match(await res.json(), {
        type: 'https://problems.inventory-api.dev/not-implemented',
        status: 501,
      });
    }
  },
);
