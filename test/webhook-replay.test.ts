// Replay and test (docs/webhooks.md, "Replay and test"): past events sent to one endpoint again,
// by id or from a feed cursor, with their own webhook-id and only what the endpoint subscribes to
// and may receive; a test event to one endpoint only, never in the feed; the refusals (bodies,
// unknown ids, cursors, other clients' and disabled endpoints); keys and concurrent replays.
//
// Positions in the feed are written here by hand (UPDATE outbox SET position), as the
// dispatcher's fan-out writes them: in commit order.
import t from 'tap';
import type { Sql } from '../db/client.ts';
import type { TokenOptions } from './helpers/auth.ts';
import { startServer, type TestServer } from './helpers/server.ts';
import {
  acknowledgedIds,
  commitEvents,
  createEndpoint,
  type Receiver,
  schemaValidator,
  settled,
  type SampleType,
  signersOf,
  startReceiver,
  subscribe,
  WEBHOOK_TEST_ENV,
} from './helpers/webhooks.ts';
import { waitFor } from './helpers/wait.ts';

function post(
  s: TestServer,
  endpointId: string,
  action: 'replay' | 'test',
  body?: unknown,
  { token = {}, key }: { token?: TokenOptions; key?: string } = {},
) {
  return s.request(`/webhooks/endpoints/${endpointId}/${action}`, {
    method: 'POST',
    token,
    headers: key ? { 'idempotency-key': key } : {},
    json: body,
  });
}

/** Gives every event without a position one, in commit (seq) order, as the feed's fan-out does. */
async function positionOf(sql: Sql, eventId: string): Promise<string> {
  const [row] = await sql<
    { position: string }[]
  >`SELECT position::text FROM outbox WHERE id = ${eventId}`;
  return row.position;
}

async function deliveryRows(sql: Sql, endpointId: string) {
  return sql<{ event_id: string; status: string; attempts: number }[]>`
    SELECT event_id, status, attempts FROM webhook_deliveries WHERE endpoint_id = ${endpointId} ORDER BY event_id`;
}

/** Forgets what a receiver got so far: what it gets next is the replay's. */
function forget(r: Receiver): void {
  r.received.length = 0;
}

t.test(
  'replay by ids re-delivers with the same webhook-id, body and a valid signature',
  async (t) => {
    const s = await startServer(t, { env: WEBHOOK_TEST_ENV });
    const receiver = await startReceiver(t);
    const endpoint = await subscribe(s.url, receiver);
    const events = await commitEvents(s.sql, 'inventory.stock_move.posted', 3);
    await settled(s.sql);
    t.same(acknowledgedIds(receiver).sort(), [...events].sort(), 'each sent once');
    const first = new Map(receiver.received.map((r) => [String(r.headers['webhook-id']), r.body]));
    forget(receiver);

    const res = await post(s, endpoint.id, 'replay', { event_ids: [events[2], events[0]] });
    t.equal(res.status, 202);
    t.same(await res.json(), { queued: 2 });
    await waitFor('the replayed events', () => receiver.acknowledged().length >= 2);
    await settled(s.sql);
    t.same(acknowledgedIds(receiver).sort(), [events[0], events[2]].sort(), 'exactly those, once');
    const validate = schemaValidator('StockMovePostedEvent');
    for (const r of receiver.received) {
      const id = String(r.headers['webhook-id']);
      t.same(signersOf(r, [endpoint.secret]), [endpoint.secret], `${id} signed afresh`);
      t.same(JSON.parse(r.body), JSON.parse(first.get(id)!), 'the same event as first sent');
      t.equal(JSON.parse(r.body).id, id, 'webhook-id is the event id');
      t.equal(validate(JSON.parse(r.body)), null);
    }
    t.same(
      await deliveryRows(s.sql, endpoint.id),
      events
        .map((id) => ({
          event_id: id,
          status: 'SUCCEEDED',
          attempts: id === events[1] ? 1 : 2,
        }))
        .sort((a, b) => (a.event_id < b.event_id ? -1 : 1)),
      'still one delivery per event; a replay is one more attempt of it',
    );
    const [audit] = await s.sql<{ after: unknown }[]>`
    SELECT after FROM audit_log WHERE action = 'webhook_endpoint.replayed' AND entity_id = ${endpoint.id}`;
    t.same(audit.after, { event_ids: [events[2], events[0]], queued: 2 }, 'audited');
  },
);

t.test(
  'replay from a cursor sends exactly the later events the endpoint subscribes to and may receive',
  async (t) => {
    const s = await startServer(t, { env: WEBHOOK_TEST_ENV });
    const [onlyA, moves] = await Promise.all([startReceiver(t), startReceiver(t)]);
    const partner = { client_id: 'partner', scope: 'webhooks:manage', warehouses: ['WH-A'] };
    const restricted = await createEndpoint(s, partner, onlyA.url);
    const movesOnly = await createEndpoint(s, {}, moves.url, ['inventory.stock_move.posted']);

    const commit = async (type: SampleType, data: object) =>
      (await commitEvents(s.sql, type, 1, { data }))[0];
    const before = await commit('inventory.stock_move.posted', { to_wh: 'WH-A' });
    const moveA = await commit('inventory.stock_move.posted', { to_wh: 'WH-A' });
    const moveB = await commit('inventory.stock_move.posted', { to_wh: 'WH-B' });
    const transfer = await commit('inventory.stock_move.posted', {
      from_wh: 'WH-A',
      to_wh: 'WH-B',
    });
    const receiptA = await commit('inventory.receipt.posted', { warehouse_id: 'WH-A' });
    const receiptB = await commit('inventory.receipt.posted', { warehouse_id: 'WH-B' });
    await settled(s.sql);
    forget(onlyA);
    forget(moves);

    const after = s.app.pager.feed.cursor(await positionOf(s.sql, before));
    const restrictedReplay = await post(s, restricted.id, 'replay', { after }, { token: partner });
    t.equal(restrictedReplay.status, 202);
    t.same(await restrictedReplay.json(), { queued: 3 }, 'no next_after: nothing more remains');
    const movesReplay = await post(s, movesOnly.id, 'replay', { after });
    t.same(await movesReplay.json(), { queued: 3 });
    await waitFor('the replays', () => onlyA.received.length >= 3 && moves.received.length >= 3);
    await settled(s.sql);
    t.same(
      acknowledgedIds(onlyA).sort(),
      [moveA, transfer, receiptA].sort(),
      "the WH-A endpoint: the later events of WH-A, never WH-B's",
    );
    t.same(
      acknowledgedIds(moves).sort(),
      [moveA, moveB, transfer].sort(),
      'the moves-only endpoint: the later moves, no receipt',
    );
    t.notOk(
      [...acknowledgedIds(onlyA), ...acknowledgedIds(moves)].some(
        (id) => id === before || id === receiptB,
      ),
    );
    for (const r of onlyA.received)
      t.same(signersOf(r, [restricted.secret]), [restricted.secret], 'signed with its secret');

    const last = s.app.pager.feed.cursor(await positionOf(s.sql, receiptB));
    t.same(await (await post(s, movesOnly.id, 'replay', { after: last })).json(), { queued: 0 });
  },
);

t.test(
  'a replay from a cursor looks at 10,000 events at most, and says where to go on',
  async (t) => {
    const s = await startServer(t, { env: WEBHOOK_TEST_ENV });
    const receiver = await startReceiver(t);
    const partner = { client_id: 'partner', warehouses: ['WH-A'] };
    const endpoint = await createEndpoint(s, partner, receiver.url, [
      'inventory.stock_move.posted',
    ]);
    // 10,000 events of WH-B, which it may not receive, then one of WH-A, all sequenced and sent.
    // Given their positions as the fan-out would (after the last one given, in feed_state).
    await s.sql`
      WITH bulk AS (
        INSERT INTO outbox (id, type, warehouse_ids, payload, dispatched_at, position)
        SELECT 'evt_bulk' || n, 'inventory.stock_move.posted', '{WH-B}', '{}', now(), n
        FROM generate_series(1, 10000) AS n
      )
      UPDATE feed_state SET last_position = 10000`;
    const [lastA] = await commitEvents(s.sql, 'inventory.stock_move.posted', 1);
    await settled(s.sql);
    t.equal(await positionOf(s.sql, lastA), '10001');
    forget(receiver);

    const first = await post(
      s,
      endpoint.id,
      'replay',
      { after: s.app.pager.feed.cursor('0') },
      { token: partner },
    );
    const page = await first.json();
    t.equal(page.queued, 0, "the first 10,000 are WH-B's: none queued");
    t.equal(s.app.pager.feed.position(page.next_after), '10000', 'next_after: after the 10,000th');
    const rest = await post(
      s,
      endpoint.id,
      'replay',
      { after: page.next_after },
      { token: partner },
    );
    t.same(await rest.json(), { queued: 1 }, 'then the one of WH-A, and nothing remains');
    await waitFor('the replay', () => receiver.acknowledged().length === 1);
    t.same(acknowledgedIds(receiver), [lastA]);
  },
);

t.test('the same Idempotency-Key queues once', async (t) => {
  const s = await startServer(t, { env: WEBHOOK_TEST_ENV });
  const receiver = await startReceiver(t);
  const endpoint = await subscribe(s.url, receiver);
  const [event] = await commitEvents(s.sql, 'inventory.stock_move.posted', 1);
  await settled(s.sql);
  forget(receiver);
  const key = crypto.randomUUID();
  const first = await post(s, endpoint.id, 'replay', { event_ids: [event] }, { key });
  t.same([first.status, await first.json()], [202, { queued: 1 }]);
  await settled(s.sql);
  const again = await post(s, endpoint.id, 'replay', { event_ids: [event] }, { key });
  t.same([again.status, await again.json()], [202, { queued: 1 }], 'the stored answer');
  t.equal(again.headers.get('idempotent-replayed'), 'true');
  const testKey = crypto.randomUUID();
  const test1 = await (await post(s, endpoint.id, 'test', undefined, { key: testKey })).json();
  const test2 = await post(s, endpoint.id, 'test', undefined, { key: testKey });
  t.same(await test2.json(), test1, 'a test with a used key: the same delivery');
  await settled(s.sql);
  t.same(
    acknowledgedIds(receiver).sort(),
    [event, test1.event_id].sort(),
    'the event sent again once, and one test event',
  );
  t.same((await deliveryRows(s.sql, endpoint.id)).find((d) => d.event_id === event)?.attempts, 2);
});

t.test('refusals: bodies, unknown events, cursors; nothing is queued', async (t) => {
  const s = await startServer(t, { env: WEBHOOK_TEST_ENV });
  const [onlyA, other] = await Promise.all([startReceiver(t), startReceiver(t)]);
  const partner = { client_id: 'partner', warehouses: ['WH-A'] };
  const endpoint = await createEndpoint(s, partner, onlyA.url, ['inventory.stock_move.posted']);
  const otherEndpoint = await subscribe(s.url, other);
  const [moveA] = await commitEvents(s.sql, 'inventory.stock_move.posted', 1);
  const [moveB] = await commitEvents(s.sql, 'inventory.stock_move.posted', 1, {
    data: { to_wh: 'WH-B' },
  });
  const [receiptA] = await commitEvents(s.sql, 'inventory.receipt.posted', 1);
  const otherTest = (await (await post(s, otherEndpoint.id, 'test')).json()).event_id;
  await settled(s.sql);
  await settled(s.sql);
  const rowsBefore =
    await s.sql`SELECT id, status, attempts, updated_at FROM webhook_deliveries ORDER BY id`;

  const refused = async (body: unknown, status: number, what: string) => {
    const res = await post(s, endpoint.id, 'replay', body, { token: partner });
    const problem = await res.json();
    t.equal(res.status, status, `${what}: ${problem.detail}`);
    return problem;
  };
  const validation = async (body: unknown, what: string) =>
    (await refused(body, 422, what)).errors.map((e: { pointer: string; code: string }) => [
      e.pointer,
      e.code,
    ]);

  t.ok((await validation({ after: 'x', event_ids: [moveA] }, 'both')).length > 0);
  t.ok((await validation({}, 'neither')).length > 0);
  t.ok((await validation({ event_ids: [] }, 'no ids')).length > 0);
  t.ok(
    (await validation({ event_ids: Array.from({ length: 101 }, (_, n) => `evt_${n}`) }, '101 ids'))
      .length > 0,
  );
  t.same(
    await validation(
      { event_ids: [moveA, 'evt_nope', moveB, otherTest, receiptA] },
      'ids it may not be sent',
    ),
    [
      ['#/event_ids/1', 'unknown_event'],
      ['#/event_ids/2', 'unknown_event'],
      ['#/event_ids/3', 'unknown_event'],
      ['#/event_ids/4', 'not_subscribed'],
    ],
    "unknown, another warehouse's, another endpoint's test event: unknown alike; a type it does not subscribe to",
  );
  const forged = await refused(
    { after: 'eyJlIjoiMCJ9.AAAAAAAAAAAAAAAAAAAAAA' },
    422,
    'forged cursor',
  );
  t.match(forged.type, /invalid-cursor$/);
  await s.sql`UPDATE feed_state SET expired_through = ${await positionOf(s.sql, moveB)}`;
  const expired = await refused(
    { after: s.app.pager.feed.cursor(await positionOf(s.sql, moveA)) },
    410,
    'a cursor older than the feed keeps',
  );
  t.match(expired.type, /cursor-expired$/);
  const kept = await post(
    s,
    endpoint.id,
    'replay',
    { after: s.app.pager.feed.cursor(await positionOf(s.sql, moveB)) },
    { token: partner },
  );
  t.same(await kept.json(), { queued: 0 }, 'a cursor at the horizon is still good');

  t.same(
    await s.sql`SELECT id, status, attempts, updated_at FROM webhook_deliveries ORDER BY id`,
    rowsBefore,
    'no delivery queued or changed',
  );
});

t.test("other clients' endpoints are 404, disabled ones 409", async (t) => {
  const s = await startServer(t, { env: WEBHOOK_TEST_ENV });
  const receiver = await startReceiver(t);
  const erp = { client_id: 'erp' };
  const endpoint = await createEndpoint(s, erp, receiver.url);
  const [event] = await commitEvents(s.sql, 'inventory.stock_move.posted', 1);
  await settled(s.sql);
  forget(receiver);

  for (const [token, what] of [
    [{ client_id: 'someone-else' }, 'another client'],
    [{ client_id: 'erp', warehouses: ['WH-A'] }, 'a restricted token of its client'],
  ] as [TokenOptions, string][]) {
    for (const action of ['replay', 'test'] as const) {
      const res = await post(
        s,
        endpoint.id,
        action,
        action === 'replay' ? { event_ids: [event] } : undefined,
        { token },
      );
      t.equal(res.status, 404, `${action} by ${what}`);
    }
  }
  t.equal((await post(s, 'whk_01JD7ZK3Q8X2', 'test', undefined, { token: erp })).status, 404);

  await s.sql`UPDATE webhook_endpoints SET active = false, disabled_reason = 'the receiver answered 410 Gone' WHERE id = ${endpoint.id}`;
  for (const action of ['replay', 'test'] as const) {
    const res = await post(
      s,
      endpoint.id,
      action,
      action === 'replay' ? { event_ids: [event] } : undefined,
      { token: erp },
    );
    const problem = await res.json();
    t.equal(res.status, 409, `${action} of a disabled endpoint`);
    t.match(problem, { type: /invalid-state$/, current_status: 'DISABLED' });
  }
  t.same(await deliveryRows(s.sql, endpoint.id), [
    { event_id: event, status: 'SUCCEEDED', attempts: 1 },
  ]);
  t.equal(receiver.received.length, 0);
});

t.test(
  'a test event reaches only the endpoint tested, signed, and is never in the feed',
  async (t) => {
    const s = await startServer(t, { env: WEBHOOK_TEST_ENV });
    const [tested, everything] = await Promise.all([startReceiver(t), startReceiver(t)]);
    const partner = { client_id: 'partner', warehouses: ['WH-A'] };
    // Subscribed to receipts only, and restricted: neither keeps the test event from it.
    const endpoint = await createEndpoint(s, partner, tested.url, ['inventory.receipt.posted']);
    const bystander = await createEndpoint(s, { client_id: 'partner' }, everything.url);

    const res = await post(s, endpoint.id, 'test', undefined, { token: partner });
    t.equal(res.status, 202);
    const delivery = await res.json();
    t.match(delivery, {
      endpoint_id: endpoint.id,
      event_id: /^evt_/,
      event_type: 'webhook.test',
      status: 'PENDING',
      attempts: 0,
    });
    await waitFor('the test event', () => tested.acknowledged().length === 1);
    await settled(s.sql);
    const [received] = tested.received;
    t.equal(received.headers['webhook-id'], delivery.event_id);
    t.same(signersOf(received, [endpoint.secret]), [endpoint.secret], 'signed with its secret');
    const event = JSON.parse(received.body);
    t.equal(schemaValidator('WebhookTestEvent')(event), null, 'a valid WebhookTestEvent');
    t.match(event, {
      id: delivery.event_id,
      type: 'webhook.test',
      warehouse_ids: [],
      data: { endpoint_id: endpoint.id, request_id: res.headers.get('x-request-id') },
    });
    t.equal(everything.received.length, 0, 'the endpoint subscribed to everything got nothing');
    t.same(
      await s.sql`SELECT position, dispatched_at IS NOT NULL AS dispatched FROM outbox WHERE id = ${delivery.event_id}`,
      [{ position: null, dispatched: true }],
      'born dispatched, never sequenced: never in the feed',
    );
    t.same(
      await s.sql`SELECT endpoint_id FROM webhook_deliveries WHERE event_id = ${delivery.event_id}`,
      [{ endpoint_id: endpoint.id }],
      'one delivery, to the endpoint tested',
    );
    const listed = await s.client(partner).GET('/webhooks/deliveries', {
      params: { query: { endpoint_id: endpoint.id } },
    });
    t.match(listed.data?.data, [
      { id: delivery.id, event_type: 'webhook.test', status: 'SUCCEEDED' },
    ]);
    const replayed = await post(
      s,
      bystander.id,
      'replay',
      { event_ids: [delivery.event_id] },
      {
        token: { client_id: 'partner' },
      },
    );
    t.equal(replayed.status, 422, 'a test event is never replayed');
  },
);

t.test('concurrent replays of the same events make one delivery each', async (t) => {
  const s = await startServer(t, { env: WEBHOOK_TEST_ENV });
  // Events from before the endpoint existed: a new endpoint catching up.
  const events = await commitEvents(s.sql, 'inventory.stock_move.posted', 40, { together: true });
  await settled(s.sql);
  await settled(s.sql);
  const receiver = await startReceiver(t);
  const endpoint = await subscribe(s.url, receiver);
  const after = s.app.pager.feed.cursor('0');
  const answers = await Promise.all(
    Array.from({ length: 6 }, (_, n) =>
      post(s, endpoint.id, 'replay', n % 2 ? { after } : { event_ids: events.slice(0, 40) }),
    ),
  );
  t.same(
    answers.map((r) => r.status),
    Array(6).fill(202),
  );
  await settled(s.sql);
  const rows = await deliveryRows(s.sql, endpoint.id);
  t.equal(rows.length, 40, 'one delivery per event');
  t.same(new Set(rows.map((r) => r.event_id)), new Set(events));
  t.same(new Set(acknowledgedIds(receiver)), new Set(events), 'every event delivered');
});

t.test('a delivery being attempted is left to its attempt', async (t) => {
  const s = await startServer(t, { env: WEBHOOK_TEST_ENV });
  let hung = false;
  const receiver = await startReceiver(t, () => {
    if (hung) return { status: 200 };
    hung = true;
    return 'hang';
  });
  const endpoint = await subscribe(s.url, receiver);
  const [event] = await commitEvents(s.sql, 'inventory.stock_move.posted', 1);
  await waitFor('the first attempt, hanging', () => receiver.received.length === 1);
  const res = await post(s, endpoint.id, 'replay', { event_ids: [event] });
  t.same(await res.json(), { queued: 0 }, 'not queued: it is in flight');
  await settled(s.sql);
  t.same(
    await deliveryRows(s.sql, endpoint.id),
    [{ event_id: event, status: 'SUCCEEDED', attempts: 2 }],
    'its own retry sent it',
  );
});
