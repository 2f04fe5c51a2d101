// Delivery end to end, each with a real HTTP receiver on loopback: fan-out per subscribed endpoint,
// signatures an independent verifier accepts, payloads valid against the spec, retries with the same
// webhook-id, Retry-After, 410, manual retry, rotation, rolled-back postings, the deliveries API.
import t from 'tap';
import { startServer, type TestServer } from './helpers/server.ts';
import {
  acknowledgedIds,
  commitEvents,
  rolledBackEvent,
  schemaValidator,
  signersOf,
  startReceiver,
  subscribe,
  WEBHOOK_TEST_ENV,
} from './helpers/webhooks.ts';
import { waitFor } from './helpers/wait.ts';

/** Waits until GET /metrics shows every pattern (metrics are updated just after the database). */
async function metricsShow(s: TestServer, ...patterns: RegExp[]) {
  return waitFor(
    `metrics ${patterns.join(' ')}`,
    async () => {
      const text = await (await s.request('/metrics', { token: null })).text();
      return patterns.every((p) => p.test(text));
    },
    5_000,
  );
}

async function deliveries(
  s: TestServer,
  query: { endpoint_id?: string; status?: 'PENDING' | 'SUCCEEDED' | 'FAILED' } = {},
) {
  const res = await s.client().GET('/webhooks/deliveries', { params: { query } });
  if (res.response.status !== 200) throw new Error(JSON.stringify(res.error));
  return res.data!.data;
}

t.test(
  'each event arrives once per subscribed endpoint, signed and valid against the spec',
  async (t) => {
    const s = await startServer(t, { env: WEBHOOK_TEST_ENV });
    const [a, b, receiptsOnly] = await Promise.all([
      startReceiver(t),
      startReceiver(t),
      startReceiver(t),
    ]);
    const ea = await subscribe(s.url, a, [
      'inventory.stock_move.posted',
      'inventory.receipt.posted',
    ]);
    const eb = await subscribe(s.url, b, ['inventory.stock_move.posted']);
    const er = await subscribe(s.url, receiptsOnly, ['inventory.receipt.posted']);

    const moves = await commitEvents(s.sql, 'inventory.stock_move.posted', 3);
    const receipts = await commitEvents(s.sql, 'inventory.receipt.posted', 2);
    await waitFor(
      'all deliveries',
      () => a.received.length >= 5 && b.received.length >= 3 && receiptsOnly.received.length >= 2,
    );
    await waitFor(
      'all recorded',
      async () => (await deliveries(s, { status: 'SUCCEEDED' })).length === 10,
    );

    t.same(
      acknowledgedIds(a).sort(),
      [...moves, ...receipts].sort(),
      'endpoint a: every event, once',
    );
    t.same(acknowledgedIds(b).sort(), [...moves].sort(), 'endpoint b: stock moves only, once each');
    t.same(
      acknowledgedIds(receiptsOnly).sort(),
      [...receipts].sort(),
      'receipts-only endpoint: receipts only',
    );

    const validators = {
      'inventory.stock_move.posted': schemaValidator('StockMovePostedEvent'),
      'inventory.receipt.posted': schemaValidator('ReceiptPostedEvent'),
    };
    for (const [receiver, endpoint] of [
      [a, ea],
      [b, eb],
      [receiptsOnly, er],
    ] as const) {
      for (const r of receiver.received) {
        t.same(
          signersOf(r, [endpoint.secret]),
          [endpoint.secret],
          `signature of ${r.headers['webhook-id']} verifies with its endpoint's secret`,
        );
        t.same(
          signersOf(
            r,
            [ea.secret, eb.secret, er.secret].filter((x) => x !== endpoint.secret),
          ),
          [],
          'and with no other',
        );
        t.equal(r.headers['content-type'], 'application/json');
        const event = JSON.parse(r.body);
        t.equal(event.id, r.headers['webhook-id'], 'webhook-id is the event id');
        t.equal(
          validators[event.type as keyof typeof validators](event),
          null,
          `${event.type} payload valid against the spec`,
        );
      }
    }
    const listed = await deliveries(s, { endpoint_id: eb.id });
    t.equal(listed.length, 3);
    t.ok(
      listed.every(
        (d) =>
          d.status === 'SUCCEEDED' &&
          d.attempts === 1 &&
          d.last_status_code === 200 &&
          d.next_attempt_at === null,
      ),
    );
  },
);

t.test(
  'a receiver failing 3 times gets the event on the 4th attempt, with the same webhook-id',
  async (t) => {
    const s = await startServer(t, { env: WEBHOOK_TEST_ENV });
    const receiver = await startReceiver(t, (_r, n) => (n < 3 ? { status: 500 } : { status: 204 }));
    const endpoint = await subscribe(s.url, receiver, ['inventory.stock_move.posted']);
    const [id] = await commitEvents(s.sql, 'inventory.stock_move.posted');
    await waitFor('4 attempts', () => receiver.received.length >= 4);
    t.same(
      receiver.received.map((r) => r.headers['webhook-id']),
      [id, id, id, id],
    );
    t.same(
      receiver.received.map((r) => r.answered),
      [500, 500, 500, 204],
    );
    t.ok(
      receiver.received.every((r) => signersOf(r, [endpoint.secret]).length === 1),
      'every attempt signed afresh',
    );
    const [delivery] = await waitFor(
      'SUCCEEDED',
      async () => (await deliveries(s, { status: 'SUCCEEDED' })).length === 1 && deliveries(s),
    );
    t.match(delivery, { event_id: id, attempts: 4, last_status_code: 204, next_attempt_at: null });
    await new Promise((r) => setTimeout(r, 300));
    t.equal(receiver.received.length, 4, 'nothing more after the success');
  },
);

t.test(
  'after the last attempt the delivery is FAILED; a manual retry sends it again',
  async (t) => {
    const s = await startServer(t, { env: WEBHOOK_TEST_ENV });
    let healthy = false;
    const receiver = await startReceiver(t, () => (healthy ? { status: 200 } : { status: 503 }));
    const endpoint = await subscribe(s.url, receiver, ['inventory.stock_move.posted']);
    const [id] = await commitEvents(s.sql, 'inventory.stock_move.posted');
    const [failed] = await waitFor('FAILED', async () => {
      const list = await deliveries(s, { status: 'FAILED' });
      return list.length === 1 && list;
    });
    t.match(failed, {
      event_id: id,
      endpoint_id: endpoint.id,
      attempts: 4,
      last_status_code: 503,
      last_error: 'HTTP 503',
      next_attempt_at: null,
    });
    t.equal(receiver.received.length, 4, '1 attempt + 3 retries');

    const notFailed = await s
      .client()
      .POST('/webhooks/deliveries/{id}/retry', { params: { path: { id: 'whd_nope' } } });
    t.equal(notFailed.response.status, 404);
    healthy = true;
    const retried = await s
      .client()
      .POST('/webhooks/deliveries/{id}/retry', { params: { path: { id: failed.id } } });
    t.equal(retried.response.status, 200, JSON.stringify(retried.error));
    t.equal(retried.data!.status, 'PENDING');
    await waitFor('the retried attempt', () => receiver.acknowledged().length === 1);
    t.equal(receiver.received[4].headers['webhook-id'], id, 'same webhook-id');
    const [done] = await waitFor(
      'SUCCEEDED',
      async () => (await deliveries(s, { status: 'SUCCEEDED' })).length === 1 && deliveries(s),
    );
    t.match(done, { id: failed.id, attempts: 5, last_status_code: 200 });

    const again = await s
      .client()
      .POST('/webhooks/deliveries/{id}/retry', { params: { path: { id: failed.id } } });
    t.equal(again.response.status, 409, 'only a FAILED delivery can be retried');
    t.match(again.error, { current_status: 'SUCCEEDED', allowed_statuses: ['FAILED'] });
  },
);

t.test('a receiver slower than the deadline times out, and the event is retried', async (t) => {
  const s = await startServer(t, { env: { ...WEBHOOK_TEST_ENV, WEBHOOK_TIMEOUT_S: '0.5' } });
  const receiver = await startReceiver(t, (_r, n) => (n === 0 ? 'hang' : { status: 200 }));
  await subscribe(s.url, receiver, ['inventory.stock_move.posted']);
  await commitEvents(s.sql, 'inventory.stock_move.posted');
  await waitFor('the retry acknowledged', () => receiver.acknowledged().length === 1);
  const gap = receiver.received[1].at - receiver.received[0].at;
  t.ok(gap >= 450, `the first attempt was given up after ${gap} ms`);
  t.ok(
    await metricsShow(
      s,
      /webhook_attempt_failures_total\{outcome="timeout"\} 1/,
      /webhook_delivery_latency_seconds_count 1/,
    ),
    'counted as a timeout',
  );
});

t.test('Retry-After is honoured', async (t) => {
  const s = await startServer(t, { env: WEBHOOK_TEST_ENV });
  const receiver = await startReceiver(t, (_r, n) =>
    n === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 },
  );
  await subscribe(s.url, receiver, ['inventory.stock_move.posted']);
  await commitEvents(s.sql, 'inventory.stock_move.posted');
  await waitFor('the second attempt', () => receiver.received.length >= 2);
  const gap = receiver.received[1].at - receiver.received[0].at;
  t.ok(gap >= 950, `waited ${gap} ms as asked (the schedule alone says 50 ms)`);
});

t.test('410 Gone disables the endpoint; its other pending deliveries fail with it', async (t) => {
  const s = await startServer(t, { env: WEBHOOK_TEST_ENV });
  const gone = await startReceiver(t, () => ({ status: 410 }));
  const endpoint = await subscribe(s.url, gone, ['inventory.stock_move.posted']);
  // In one transaction, so all three are fanned out before the first 410 can disable the endpoint.
  await commitEvents(s.sql, 'inventory.stock_move.posted', 3, { together: true });
  await waitFor('the endpoint disabled', async () => {
    const res = await s
      .client()
      .GET('/webhooks/endpoints/{id}', { params: { path: { id: endpoint.id } } });
    return res.data?.active === false && res.data;
  }).then((e) => {
    t.match(e.disabled_reason, /410 Gone/);
    t.equal(e.etag, '"v2"', 'a change, so a new version');
  });
  await waitFor(
    'all three FAILED',
    async () => (await deliveries(s, { endpoint_id: endpoint.id, status: 'FAILED' })).length === 3,
  );
  const before = gone.received.length;
  t.ok(before >= 1 && before <= 3, 'no retries after 410');
  await commitEvents(s.sql, 'inventory.stock_move.posted');
  await new Promise((r) => setTimeout(r, 500));
  t.equal(gone.received.length, before, 'a disabled endpoint gets no new events');
  const [failed] = await deliveries(s, { endpoint_id: endpoint.id, status: 'FAILED' });
  const retry = await s
    .client()
    .POST('/webhooks/deliveries/{id}/retry', { params: { path: { id: failed.id } } });
  t.equal(retry.response.status, 409, 'no manual retry to a disabled endpoint');
  const [audit] =
    await s.sql`SELECT actor FROM audit_log WHERE action = 'webhook_endpoint.disabled' AND entity_id = ${endpoint.id}`;
  t.equal(audit?.actor, 'webhook-dispatcher');
});

t.test(
  'after a rotation each delivery carries two signatures, the new secret and the old',
  async (t) => {
    const s = await startServer(t, { env: WEBHOOK_TEST_ENV });
    const receiver = await startReceiver(t);
    const endpoint = await subscribe(s.url, receiver, ['inventory.stock_move.posted']);
    const rotated = await s.client().POST('/webhooks/endpoints/{id}/rotate-secret', {
      params: { path: { id: endpoint.id }, header: { 'If-Match': endpoint.etag } },
    });
    t.equal(rotated.response.status, 200);
    await commitEvents(s.sql, 'inventory.stock_move.posted');
    const [r] = await waitFor(
      'a delivery',
      () => receiver.received.length === 1 && receiver.received,
    );
    t.equal(String(r.headers['webhook-signature']).split(' ').length, 2);
    t.same(
      signersOf(r, [rotated.data!.secret, endpoint.secret]),
      [rotated.data!.secret, endpoint.secret],
      'both secrets verify',
    );

    // Once the grace period is over, only the new secret signs.
    await s.sql`UPDATE webhook_endpoints SET previous_secret_expires_at = now() - interval '1 second' WHERE id = ${endpoint.id}`;
    await commitEvents(s.sql, 'inventory.stock_move.posted');
    const later = await waitFor(
      'a second delivery',
      () => receiver.received.length === 2 && receiver.received[1],
    );
    t.equal(String(later.headers['webhook-signature']).split(' ').length, 1);
    t.same(signersOf(later, [rotated.data!.secret, endpoint.secret]), [rotated.data!.secret]);
  },
);

t.test('an event of a posting that rolled back is never sent', async (t) => {
  const s = await startServer(t, { env: WEBHOOK_TEST_ENV });
  const receiver = await startReceiver(t);
  await subscribe(s.url, receiver, ['inventory.stock_move.posted']);
  const lost = await rolledBackEvent(s.sql);
  const [kept] = await commitEvents(s.sql, 'inventory.stock_move.posted');
  await waitFor('the committed event', () => receiver.acknowledged().length === 1);
  await new Promise((r) => setTimeout(r, 300));
  t.same(acknowledgedIds(receiver), [kept]);
  t.notOk(receiver.received.some((r) => r.headers['webhook-id'] === lost));
  t.equal((await s.sql`SELECT count(*)::int AS n FROM outbox WHERE id = ${lost}`)[0].n, 0);
});

t.test(
  'the resolved address is checked at delivery time (a name that now points inward)',
  async (t) => {
    // Created while private targets were allowed (or a name that resolved elsewhere then): at delivery
    // the name resolves to loopback, and the attempt is refused without a connection.
    const s = await startServer(t, { env: { ...WEBHOOK_TEST_ENV, WEBHOOK_ALLOW_PRIVATE: '0' } });
    const receiver = await startReceiver(t);
    const url = receiver.url.replace('127.0.0.1', 'localhost');
    // Owned by the test tokens' client ('tester'), so that the deliveries list shows its deliveries.
    await s.sql`INSERT INTO webhook_endpoints (id, url, events, secret, owner_client_id) VALUES ('whk_rebound', ${url}, '{inventory.stock_move.posted}', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'tester')`;
    await commitEvents(s.sql, 'inventory.stock_move.posted');
    const [failed] = await waitFor('FAILED', async () => {
      const list = await deliveries(s, { status: 'FAILED' });
      return list.length === 1 && list;
    });
    t.match(failed, {
      attempts: 4,
      last_status_code: null,
      last_error: /^refused: localhost is the local host/,
    });
    t.equal(receiver.received.length, 0, 'the receiver was never contacted');
    t.ok(
      await metricsShow(
        s,
        /webhook_attempt_failures_total\{outcome="refused"\} 4/,
        /webhook_deliveries_failed_total 1/,
      ),
      'counted as refused',
    );
  },
);

t.test(
  'an endpoint stored with credentials in its URL is refused at delivery, the credentials never sent',
  async (t) => {
    // Stored before URLs with user:password@ were refused at creation: delivering to it would send
    // them as Basic auth to whoever answers. Refused whatever WEBHOOK_ALLOW_PRIVATE says.
    const s = await startServer(t, { env: WEBHOOK_TEST_ENV });
    const receiver = await startReceiver(t);
    const url = receiver.url.replace('http://', 'http://partner:hunter2@');
    await s.sql`INSERT INTO webhook_endpoints (id, url, events, secret, owner_client_id) VALUES ('whk_userinfo', ${url}, '{inventory.stock_move.posted}', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'tester')`;
    await commitEvents(s.sql, 'inventory.stock_move.posted');
    const [failed] = await waitFor('FAILED', async () => {
      const list = await deliveries(s, { status: 'FAILED' });
      return list.length === 1 && list;
    });
    t.match(failed, {
      endpoint_id: 'whk_userinfo',
      last_status_code: null,
      last_error: /^refused: the URL carries a user name or password/,
    });
    t.notMatch(failed.last_error, /hunter2/, 'the error does not repeat the password');
    t.equal(receiver.received.length, 0, 'the receiver was never contacted');
  },
);

t.test('the deliveries list filters and pages', async (t) => {
  const s = await startServer(t, { env: WEBHOOK_TEST_ENV });
  const ok = await startReceiver(t);
  const bad = await startReceiver(t, () => ({ status: 500 }));
  const eOk = await subscribe(s.url, ok, ['inventory.stock_move.posted']);
  const eBad = await subscribe(s.url, bad, ['inventory.stock_move.posted']);
  await commitEvents(s.sql, 'inventory.stock_move.posted', 3);
  await waitFor(
    'settled',
    async () =>
      (await deliveries(s, { status: 'PENDING' })).length === 0 &&
      (await deliveries(s)).length === 6,
    10_000,
  );
  t.equal((await deliveries(s, { endpoint_id: eOk.id })).length, 3);
  t.ok(
    (await deliveries(s, { endpoint_id: eBad.id, status: 'FAILED' })).every(
      (d) => d.attempts === 4 && d.last_error === 'HTTP 500',
    ),
  );
  t.equal((await deliveries(s, { endpoint_id: eOk.id, status: 'FAILED' })).length, 0);
  const first = await s.client().GET('/webhooks/deliveries', { params: { query: { limit: 4 } } });
  const second = await s.client().GET('/webhooks/deliveries', {
    params: { query: { limit: 4, cursor: first.data!.page.next_cursor } },
  });
  const ids = [...first.data!.data, ...second.data!.data].map((d) => d.id);
  t.equal(new Set(ids).size, 6, 'two pages, every delivery once');
  const times = [...first.data!.data, ...second.data!.data].map((d) => d.created_at);
  t.same(times, [...times].sort().reverse(), 'newest first');
  t.same(
    ids,
    (
      await s.sql<
        { id: string }[]
      >`SELECT id FROM webhook_deliveries ORDER BY created_at DESC, id DESC`
    ).map((d) => d.id),
    "by (created_at, id) across both endpoints' deliveries, ties included",
  );
});
