// The receiver guide's example (docs/webhooks.md → examples/verify-webhook.ts) keeps working: it
// runs and verifies its sample, and its verifyWebhook() accepts what the server really sends.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { repoRoot } from '../server/config.ts';
import { verifyWebhook } from '../examples/verify-webhook.ts';
import { startServer } from './helpers/server.ts';
import { commitEvents, startReceiver, subscribe, WEBHOOK_TEST_ENV } from './helpers/webhooks.ts';
import { waitFor } from './helpers/wait.ts';

t.test(
  'npx tsx examples/verify-webhook.ts verifies the sample and rejects the forgeries',
  async (t) => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'examples/verify-webhook.ts')],
      { cwd: repoRoot },
    );
    t.match(stdout, /^valid {4}sample, current secret/m);
    t.match(stdout, /^rejected tampered body/m);
    t.match(stdout, /^OK: /m);
  },
);

t.test(
  'the example verifier accepts a real delivery, and only with the right secret',
  async (t) => {
    const s = await startServer(t, { env: WEBHOOK_TEST_ENV });
    const receiver = await startReceiver(t);
    const endpoint = await subscribe(s.url, receiver);
    const [id] = await commitEvents(s.sql, 'inventory.stock_move.posted');
    const [request] = await waitFor(
      'the delivery',
      () => receiver.received.length === 1 && receiver.received,
    );
    t.equal(verifyWebhook([endpoint.secret], request.headers, request.body).id, id);
    t.throws(
      () =>
        verifyWebhook(['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'], request.headers, request.body),
      /no signature matches/,
    );
  },
);
