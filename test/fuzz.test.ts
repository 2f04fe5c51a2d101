// Spec-driven fuzzing (docs/security.md): for every operation, requests generated from its schemas, valid
// and deliberately invalid (malformed JSON, JSON nested 10,000 deep, wrong types, huge numbers,
// 10,000-line bodies, text PostgreSQL cannot store (NUL, lone surrogates) in every string field,
// missing headers, impossible ids: over-long, badly percent-encoded). Never a 5xx; every error is problem+json valid against
// the spec; every success is validated against the spec by the server under test; invalid requests
// change nothing in the database. FUZZ_RUNS sets the runs per operation (e.g. FUZZ_RUNS=500 npm test -- test/fuzz.test.ts for a long run).
import t from 'tap';
import fc from 'fast-check';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { pendingOperations } from '../handlers/pending.ts';
import { spec } from '../server/spec.ts';
import { startServer } from './helpers/server.ts';
import {
  invalidRequest,
  send,
  servedOperations,
  validRequest,
  type SpecRequest,
} from './helpers/spec-requests.ts';
import { databaseFingerprint } from './helpers/db-fingerprint.ts';
import { eventsDispatched } from './helpers/wait.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 15);
const KNOWN_IDS = ['WH-A', 'WH-B', 'sku-1', 'glue', 'drill'];

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
const isProblem = ajv.compile({ ...spec.components.schemas.Problem, $defs: undefined });

t.test('fuzzing every operation', async (t) => {
  const s = await startServer(t);
  const admin = s.client();
  for (const id of ['WH-A', 'WH-B'])
    await admin.POST('/inventory/warehouses', { body: { id, name: id } });
  await admin.POST('/inventory/items', {
    body: { id: 'sku-1', sku: 'SKU-1', name: 'Bolt', uom: 'EA', track_by: 'NONE' },
  });
  await admin.POST('/inventory/items', {
    body: { id: 'glue', sku: 'GLUE', name: 'Glue', uom: 'EA', track_by: 'BATCH' },
  });
  await admin.POST('/inventory/items', {
    body: { id: 'drill', sku: 'DRILL', name: 'Drill', uom: 'EA', track_by: 'SERIAL' },
  });
  const token = s.token();
  let sent = 0;

  const checkResponse = async (req: SpecRequest, res: Response, label: string) => {
    sent++;
    const text = await res.text();
    const where = `${label} ${req.method} ${req.path} ${JSON.stringify(req.json ?? req.raw)?.slice(0, 300)} → ${res.status} ${text.slice(0, 300)}`;
    if (res.status >= 500) throw new Error(`5xx: ${where}`);
    if (res.status >= 400) {
      if (!/^application\/problem\+json/.test(res.headers.get('content-type') ?? ''))
        throw new Error(`not problem+json: ${where}`);
      const body = JSON.parse(text) as { status: number };
      if (!isProblem(body) || body.status !== res.status)
        throw new Error(
          `problem does not match the spec (${ajv.errorsText(isProblem.errors)}): ${where}`,
        );
    }
    return res.status;
  };

  t.test('invalid requests: always a 4xx problem, and the database is untouched', async (t) => {
    await eventsDispatched(s.sql); // the setup's events take their feed positions after commit
    const before = await databaseFingerprint(s.sql);
    const seen = new Map<string, number>();
    for (const operationId of servedOperations) {
      const arbitrary = invalidRequest(operationId, KNOWN_IDS);
      if (!arbitrary) continue;
      await fc.assert(
        fc.asyncProperty(arbitrary, async (req) => {
          const status = await checkResponse(
            req,
            await send(s.url, req, token),
            `[${req.mutation}]`,
          );
          if (status < 400)
            throw new Error(
              `accepted an invalid request [${req.mutation}]: ${req.method} ${req.path} → ${status}`,
            );
          seen.set(req.mutation.split(' ')[0], (seen.get(req.mutation.split(' ')[0]) ?? 0) + 1);
        }),
        { numRuns: RUNS },
      );
    }
    t.strictSame(await databaseFingerprint(s.sql), before, 'no table changed');
    t.comment(`mutations: ${[...seen].map(([m, n]) => `${m} ${n}`).join(', ')}`);
  });

  t.test(
    'valid requests: never a 5xx; successes match the spec (checked by the server under test)',
    async (t) => {
      const statuses = new Map<number, number>();
      for (const operationId of servedOperations.filter(
        (id) => !(pendingOperations as readonly string[]).includes(id),
      )) {
        await fc.assert(
          fc.asyncProperty(validRequest(operationId, KNOWN_IDS), async (req) => {
            const status = await checkResponse(req, await send(s.url, req, token), '[valid]');
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
          }),
          { numRuns: RUNS },
        );
      }
      t.ok(
        [...statuses.keys()].some((status) => status < 300),
        'some valid requests succeeded, so success bodies were checked',
      );
      t.comment(
        `statuses: ${[...statuses]
          .sort()
          .map(([c, n]) => `${c}×${n}`)
          .join(' ')}`,
      );
    },
  );

  t.teardown(() => t.comment(`${sent} requests sent`));
});
