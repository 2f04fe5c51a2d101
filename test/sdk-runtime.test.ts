// The generated SDK's runtime against stubbed fetch and hand-signed webhooks: retries and
// Retry-After, pagination that cannot loop, webhook verification over raw bytes and merged
// signature headers, and isProblem from JavaScript. No server or database is needed.
import { createHmac } from 'node:crypto';
import t from 'tap';
import { createApiClient } from '../generated/client.ts';
import { isProblem } from '../generated/problems.ts';
import { verifyWebhook, WebhookVerificationError } from '../generated/webhooks.ts';

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  });

const page = (items: unknown[], next_cursor: string | null) =>
  json(200, { data: items, page: { next_cursor } });

/** A fetch that answers from `answers` in turn and counts its calls. */
function stubFetch(answers: (() => Response)[]) {
  const stub = Object.assign(
    async (_request: Request) => {
      const answer = answers[Math.min(stub.calls, answers.length - 1)];
      stub.calls++;
      return answer();
    },
    { calls: 0 },
  );
  return stub;
}

const busy = (retryAfter: string) => () =>
  json(503, { type: 'about:blank', title: 'busy', status: 503 }, { 'Retry-After': retryAfter });

t.test('Retry-After', async (t) => {
  t.test('delay-seconds of 0 is retried at once', async (t) => {
    const fetch = stubFetch([busy('0'), () => page([], null)]);
    const api = createApiClient({ baseUrl: 'http://sdk.test', fetch });
    const { response } = await api.GET('/inventory/items');
    t.equal(response.status, 200);
    t.equal(fetch.calls, 2);
  });

  t.test('an HTTP date in the past is retried at once', async (t) => {
    const fetch = stubFetch([
      busy(new Date(Date.now() - 60_000).toUTCString()),
      () => page([], null),
    ]);
    const api = createApiClient({ baseUrl: 'http://sdk.test', fetch });
    const started = Date.now();
    const { response } = await api.GET('/inventory/items');
    t.equal(response.status, 200);
    t.equal(fetch.calls, 2);
    t.ok(Date.now() - started < 1_000, 'no wait');
  });

  t.test('a wait over the cap returns the answer instead of sleeping', async (t) => {
    for (const retryAfter of ['3600', new Date(Date.now() + 2 * 3600_000).toUTCString()]) {
      const fetch = stubFetch([busy(retryAfter), () => page([], null)]);
      const api = createApiClient({ baseUrl: 'http://sdk.test', fetch });
      const started = Date.now();
      const { response } = await api.GET('/inventory/items');
      t.equal(response.status, 503, retryAfter);
      t.equal(fetch.calls, 1, `${retryAfter}: not retried`);
      t.ok(Date.now() - started < 1_000, `${retryAfter}: no wait`);
    }
  });
});

t.test('paginate', async (t) => {
  t.test('follows cursors to the end', async (t) => {
    const fetch = stubFetch([() => page([{ id: 1 }], 'a'), () => page([{ id: 2 }], null)]);
    const api = createApiClient({ baseUrl: 'http://sdk.test', fetch });
    const items: unknown[] = [];
    for await (const item of api.paginate('/inventory/items')) items.push(item);
    t.same(items, [{ id: 1 }, { id: 2 }]);
  });

  t.test('throws when the server repeats a cursor', async (t) => {
    const fetch = stubFetch([
      () => page([{ id: 1 }], 'a'),
      () => page([{ id: 2 }], 'b'),
      () => page([{ id: 3 }], 'a'),
    ]);
    const api = createApiClient({ baseUrl: 'http://sdk.test', fetch });
    const items: unknown[] = [];
    await t.rejects(async () => {
      for await (const item of api.paginate('/inventory/items')) items.push(item);
    }, /cursor a a second time/);
    t.equal(fetch.calls, 3);
    t.equal(items.length, 3);
  });
});

t.test('verifyWebhook', async (t) => {
  const key = Buffer.from('a webhook secret of 32 bytes....');
  const secret = `whsec_${key.toString('base64')}`;
  const now = 1_700_000_000_000;
  const id = 'msg_1';
  const timestamp = String(now / 1000);
  const event = { type: 'stock_move.created', data: {} };
  const sign = (body: Uint8Array | string) =>
    createHmac('sha256', key)
      .update(Buffer.concat([Buffer.from(`${id}.${timestamp}.`), Buffer.from(body)]))
      .digest('base64');
  const headers = (signature: string) =>
    new Headers({
      'webhook-id': id,
      'webhook-timestamp': timestamp,
      'webhook-signature': signature,
    });
  const forged = Buffer.alloc(32, 1).toString('base64');

  t.test('signs bytes as received: a BOM and non-UTF-8 bytes', async (t) => {
    const withBom = new Uint8Array(
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(event))]),
    );
    t.same(await verifyWebhook(withBom, headers(`v1,${sign(withBom)}`), secret, { now }), event);
    // A Latin-1 byte inside a string: signed as sent, decoded to U+FFFD only for JSON.parse.
    const latin1 = new Uint8Array(
      Buffer.concat([
        Buffer.from('{"type":"stock_move.created","data":{"note":"'),
        Buffer.from([0xe9]),
        Buffer.from('"}}'),
      ]),
    );
    t.same(await verifyWebhook(latin1, headers(`v1,${sign(latin1)}`), secret, { now }), {
      type: 'stock_move.created',
      data: { note: '\uFFFD' },
    });
  });

  t.test('signatures from merged header lines', async (t) => {
    const body = JSON.stringify(event);
    const good = sign(body);
    for (const signature of [
      `v1,${forged}, v1,${good}`,
      `v1,${forged} v1,${good}`,
      `v1,${good}, v1,${forged}`,
      `v1,${forged},v1,${good}`,
    ])
      t.same(await verifyWebhook(body, headers(signature), secret, { now }), event, signature);
    await t.rejects(
      verifyWebhook(body, headers(`v1,${forged}, v1,${forged}`), secret, { now }),
      WebhookVerificationError,
    );
  });

  t.test('a secret without its whsec_ prefix', async (t) => {
    const body = JSON.stringify(event);
    const verified = await verifyWebhook(
      body,
      headers(`v1,${sign(body)}`),
      key.toString('base64'),
      { now },
    );
    t.same(verified, event);
  });
});

t.test('isProblem with a slug it does not know is false', async (t) => {
  const problem = { type: 'about:blank', title: 'x', status: 400 };
  t.equal((isProblem as (value: unknown, slug: string) => boolean)(problem, 'no-such-type'), false);
  t.equal((isProblem as (value: unknown, slug: string) => boolean)(problem, 'toString'), false);
});
