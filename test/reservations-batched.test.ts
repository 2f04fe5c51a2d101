// createReservation under group commit: each request of a batch is answered against the level as
// the ones before it left it, with its own events and audit entry; and level figures are read from
// the stored `reserved`, less only the due reservations nobody has expired yet.
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import t from 'tap';
import { inTransaction, type Sql } from '../db/client.ts';
import type { ProblemError } from '../domain/problems.ts';
import { reservationHandlers, sweepReservations } from '../handlers/reservations.ts';
import type { AnyBatched, Context } from '../handlers/types.ts';
import { checkInvariants } from '../scripts/lib/invariants.ts';
import { PostingQueue, type PostingJob } from '../server/writes/group-commit.ts';
import { ok } from './helpers/procurement.ts';
import { level, postMove, posted, reserve, startStockServer } from './helpers/stock.ts';
import { waitFor } from './helpers/wait.ts';
import { schemaValidator } from './helpers/webhooks.ts';

const count = (statuses: number[]) =>
  Object.fromEntries(
    [...new Set(statuses)].sort().map((s) => [s, statuses.filter((x) => x === s).length]),
  );

const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();

/** The events of a type, in feed order (seq). */
async function payloads(sql: Sql, type: string): Promise<any[]> {
  const rows = await sql<
    { payload: any }[]
  >`SELECT payload FROM outbox WHERE type = ${type} ORDER BY seq`;
  return rows.map((r) => r.payload);
}

/** Stored `reserved` of a level, and the sum of its ACTIVE reservations. */
async function reservedFigures(sql: Sql, item: string, warehouse: string) {
  const [row] = await sql<{ stored: number; active: number }[]>`
    SELECT s.reserved AS stored,
      coalesce((SELECT sum(qty) FROM reservations r WHERE r.item_id = s.item_id AND r.warehouse_id = s.warehouse_id
                AND r.status = 'ACTIVE'), 0) AS active
    FROM stock_levels s WHERE s.item_id = ${item} AND s.warehouse_id = ${warehouse}`;
  return { ...row };
}

t.test(
  '100 concurrent reservations of 1 against 40 available: 40 created, 60 refused, one event pair and audit entry each',
  async (t) => {
    const { s, api } = await startStockServer(t, ['WH-A'], { 'sku-1': 'NONE' });
    await posted(api, { type: 'RECEIPT', to_wh: 'WH-A', lines: [{ item_id: 'sku-1', qty: 40 }] });

    const results = await Promise.all(
      Array.from({ length: 100 }, () =>
        reserve(api, { item_id: 'sku-1', warehouse_id: 'WH-A', qty: 1, reference: 'SO-1' }),
      ),
    );
    t.same(count(results.map((r) => r.response.status)), { 201: 40, 409: 60 });
    for (const r of results.filter((r) => r.response.status === 409))
      t.match(r.error, {
        type: /insufficient-available$/,
        item_id: 'sku-1',
        warehouse_id: 'WH-A',
        requested: 1,
        available: 0,
      });
    const created = results.flatMap((r) => (r.data ? [r.data] : []));
    for (const r of results.filter((r) => r.data))
      t.equal(r.response.headers.get('location'), `/inventory/reservations/${r.data!.id}`);

    t.match(await level(api, 'sku-1', 'WH-A'), { on_hand: 40, reserved: 40, available: 0 });
    t.same(await reservedFigures(s.sql, 'sku-1', 'WH-A'), { stored: 40, active: 40 });
    t.same((await checkInvariants(s.sql)).violations, []);

    // Each answer is what a GET returns afterwards, timestamps included.
    for (const r of created) {
      const got = await api.GET('/inventory/reservations/{id}', { params: { path: { id: r.id } } });
      t.same(got.data, r, `GET ${r.id}`);
    }

    const ids = created.map((r) => r.id).sort();
    const createdEvents = await payloads(s.sql, 'inventory.reservation.created');
    t.same(createdEvents.map((e) => e.data.id).sort(), ids, 'one created event each');
    t.same(
      Object.fromEntries(createdEvents.map((e) => [e.data.id, e.data])),
      Object.fromEntries(created.map((r) => [r.id, r])),
      'carrying the reservation as answered',
    );
    const levelEvents = (await payloads(s.sql, 'inventory.stock_level.changed')).filter((e) =>
      e.data.cause.startsWith('res_'),
    );
    t.same(levelEvents.map((e) => e.data.cause).sort(), ids, 'one level event each');
    t.same(
      levelEvents.map((e) => [e.data.reserved, e.data.available]),
      Array.from({ length: 40 }, (_, i) => [i + 1, 39 - i]),
      'in feed order, each shows the level as its reservation left it',
    );
    // Feed order: each reservation's created event right before its level event.
    const order = (
      await s.sql<{ type: string; id: string }[]>`
        SELECT type, coalesce(payload->'data'->>'cause', payload->'data'->>'id') AS id FROM outbox
        WHERE type IN ('inventory.reservation.created', 'inventory.stock_level.changed')
          AND payload->'data'->>'warehouse_id' = 'WH-A' ORDER BY seq`
    ).filter((e) => e.id.startsWith('res_'));
    t.ok(
      order.every((e, i) =>
        i % 2 === 0
          ? e.type === 'inventory.reservation.created'
          : e.type === 'inventory.stock_level.changed' && e.id === order[i - 1].id,
      ),
      'created, then its level, per reservation',
    );
    const last = await level(api, 'sku-1', 'WH-A');
    t.equal(
      levelEvents[levelEvents.length - 1].data.updated_at,
      last?.updated_at,
      'the last level event shows the level as the table has it',
    );
    const validCreated = schemaValidator('ReservationCreatedEvent');
    const validLevel = schemaValidator('StockLevelChangedEvent');
    t.same(
      [...createdEvents.map(validCreated), ...levelEvents.map(validLevel)].filter(Boolean),
      [],
      'every payload matches its schema',
    );

    const [{ audits }] = await s.sql<{ audits: number }[]>`
      SELECT count(*)::int AS audits FROM audit_log WHERE action = 'reservation.created' AND entity_id = ANY(${ids}::text[])`;
    t.equal(audits, 40, 'one audit entry each');
  },
);

t.test(
  'the same Idempotency-Key sent concurrently creates once; another body under it is 422',
  async (t) => {
    const { s, api } = await startStockServer(t, ['WH-A'], { 'sku-1': 'NONE' });
    await posted(api, { type: 'RECEIPT', to_wh: 'WH-A', lines: [{ item_id: 'sku-1', qty: 10 }] });
    const body = { item_id: 'sku-1', warehouse_id: 'WH-A', qty: 2 };
    const key = randomUUID();
    const results = await Promise.all(Array.from({ length: 20 }, () => reserve(api, body, key)));
    t.same(count(results.map((r) => r.response.status)), { 201: 20 });
    t.equal(new Set(results.map((r) => r.data?.id)).size, 1, 'one reservation, answered to all');
    t.equal(
      results.filter((r) => r.response.headers.get('idempotent-replayed') === null).length,
      1,
      'executed once, the others replayed',
    );
    const other = await reserve(api, { ...body, qty: 3 }, key);
    t.equal(other.response.status, 422);
    t.equal(other.error?.type, 'https://problems.inventory-api.dev/idempotency-key-reused');
    t.same((await reserve(api, body, key)).data, results[0].data, 'the same body: the same answer');
    t.match(await level(api, 'sku-1', 'WH-A'), { reserved: 2, available: 8 });

    // Expiries as PostgreSQL would read them: in UTC, to the millisecond, a leap second included.
    for (const [expires_at, stored] of [
      ['2099-06-30T23:59:60Z', '2099-07-01T00:00:00.000Z'],
      ['2099-01-01T10:00:00.1239+02:00', '2099-01-01T08:00:00.123Z'],
    ]) {
      const r = ok(
        await reserve(api, { item_id: 'sku-1', warehouse_id: 'WH-A', qty: 1, expires_at }),
      );
      t.equal(r.expires_at, stored, expires_at);
      const got = await api.GET('/inventory/reservations/{id}', { params: { path: { id: r.id } } });
      t.same(got.data, r, 'as a GET returns it');
    }
    t.match(await level(api, 'sku-1', 'WH-A'), { reserved: 4, available: 6 });

    // A refused request's answer is stored and replayed too, even once stock is there.
    const refusedKey = randomUUID();
    const big = { ...body, qty: 50 };
    const refused = await Promise.all(
      Array.from({ length: 5 }, () => reserve(api, big, refusedKey)),
    );
    t.same(count(refused.map((r) => r.response.status)), { 409: 5 });
    await posted(api, { type: 'RECEIPT', to_wh: 'WH-A', lines: [{ item_id: 'sku-1', qty: 100 }] });
    t.match((await reserve(api, big, refusedKey)).error, { status: 409, available: 6 });
    t.same((await checkInvariants(s.sql)).violations, []);
  },
);

t.test(
  'reservations racing issues of the same stock: available never below zero, invariants hold',
  async (t) => {
    const { s, api } = await startStockServer(t, ['WH-A'], { 'sku-1': 'NONE' });
    await posted(api, { type: 'RECEIPT', to_wh: 'WH-A', lines: [{ item_id: 'sku-1', qty: 50 }] });
    const results = await Promise.all(
      Array.from({ length: 80 }, (_, i) =>
        i % 2
          ? reserve(api, { item_id: 'sku-1', warehouse_id: 'WH-A', qty: 1 }).then((r) => ({
              kind: 'reserve',
              status: r.response.status,
              type: r.error?.type,
            }))
          : postMove(api, {
              type: 'ISSUE',
              from_wh: 'WH-A',
              lines: [{ item_id: 'sku-1', qty: 1 }],
            }).then((r) => ({ kind: 'issue', status: r.response.status, type: r.error?.type })),
      ),
    );
    t.ok(
      results.every(
        (r) =>
          r.status === 201 ||
          (r.status === 409 &&
            r.type?.endsWith(r.kind === 'issue' ? '/over-issuance' : '/insufficient-available')),
      ),
      'every request succeeded or was refused for stock',
    );
    const reserved = results.filter((r) => r.kind === 'reserve' && r.status === 201).length;
    const issued = results.filter((r) => r.kind === 'issue' && r.status === 201).length;
    t.equal(reserved + issued, 50, 'exactly the stock there was, no more');
    t.match(await level(api, 'sku-1', 'WH-A'), {
      on_hand: 50 - issued,
      reserved,
      available: 0,
    });
    t.same(await reservedFigures(s.sql, 'sku-1', 'WH-A'), { stored: reserved, active: reserved });
    t.same((await checkInvariants(s.sql)).violations, []);
  },
);

t.test(
  'a batch answers each of its requests on its own: created, refused, forbidden',
  async (t) => {
    const { s, api } = await startStockServer(t, ['WH-A', 'WH-B'], { 'sku-1': 'NONE' });
    await posted(api, { type: 'RECEIPT', to_wh: 'WH-A', lines: [{ item_id: 'sku-1', qty: 5 }] });

    // The real handler on a queue of its own, one batch at a time: what is submitted while a batch
    // waits for the level forms the next batch, whole.
    const registry = new Registry();
    const queue = new PostingQueue(
      s.sql,
      reservationHandlers.createReservation as AnyBatched<Context<'createReservation'>>,
      { maxBatch: 64, maxInFlight: 1, maxQueued: 64, idempotencyTtlH: 96 },
      registry,
    );
    const job = (
      body: Context<'createReservation'>['body'],
      warehouses: string[] | null = null,
    ): PostingJob<Context<'createReservation'>> => {
      const key = randomUUID();
      const principal = {
        sub: 'tester',
        clientId: 'test',
        scopes: new Set(['inventory:write']),
        warehouses: warehouses && new Set(warehouses),
      };
      return {
        scope: {
          clientId: 'test',
          sub: 'tester',
          operationId: 'createReservation',
          key,
          fingerprint: JSON.stringify(body),
          warehouses,
        },
        context: (db) =>
          ({
            body,
            principal,
            actor: { sub: 'tester', clientId: 'test', requestId: key },
            db,
          }) as unknown as Context<'createReservation'>,
        problem: (err: ProblemError) => ({
          status: err.status,
          body: { slug: err.slug, ...err.extensions },
          headers: {},
        }),
      };
    };
    const asked = (qty: number, warehouse_id = 'WH-A') => ({
      item_id: 'sku-1',
      warehouse_id,
      qty,
    });

    const holder = await s.sql.reserve();
    t.teardown(() => holder.release());
    await holder`BEGIN`;
    await holder`SELECT 1 FROM stock_levels WHERE item_id = 'sku-1' FOR UPDATE`;
    const first = queue.submit(job(asked(1)));
    await waitFor(
      'the first batch to wait for the stock level',
      async () =>
        (
          await s.sql`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%stock_levels%'`
        ).length === 1,
    );
    const settle = (p: Promise<unknown>) =>
      p.then(
        (outcome) => outcome,
        (err: ProblemError) => ({ error: err.slug }),
      );
    const batch = [
      queue.submit(job(asked(3))),
      queue.submit(job(asked(2))),
      queue.submit(job({ ...asked(1), item_id: 'nope' })),
      queue.submit(job(asked(1), ['WH-B'])),
      queue.submit(job(asked(1))),
    ].map(settle);
    await holder`COMMIT`;
    t.match(await first, { status: 201, body: { qty: 1 } });
    const [three, two, unknown, forbidden, one] = await Promise.all(batch);
    t.match(three, { status: 201, body: { qty: 3, status: 'ACTIVE' } }, '3 of 4 available');
    t.match(
      two,
      { status: 409, body: { slug: 'insufficient-available', requested: 2, available: 1 } },
      'then 2 of the 1 left: refused',
    );
    t.match(
      unknown,
      { status: 422, body: { slug: 'validation-error' } },
      'an unknown item: 422, stored',
    );
    t.same(forbidden, { error: 'warehouse-forbidden' }, 'another warehouse: 403, not stored');
    t.match(one, { status: 201, body: { qty: 1 } }, 'the last unit');

    const sizes = await registry.getSingleMetricAsString('posting_batch_size');
    t.match(sizes, /^posting_batch_size_count 2$/m, 'two batches');
    t.match(sizes, /^posting_batch_size_sum 6$/m, 'of one and five');
    t.match(await level(api, 'sku-1', 'WH-A'), { on_hand: 5, reserved: 5, available: 0 });
    const levelEvents = (await payloads(s.sql, 'inventory.stock_level.changed')).filter((e) =>
      e.data.cause.startsWith('res_'),
    );
    t.same(
      levelEvents.map((e) => [e.data.reserved, e.data.available]),
      [
        [1, 4],
        [4, 1],
        [5, 0],
      ],
      'one level event per reservation made, as it left the level',
    );
    t.same((await checkInvariants(s.sql)).violations, []);
  },
);

t.test(
  'a level with thousands of ACTIVE reservations reads its stored figure; a due one stops counting at once and is expired by the next write or sweep',
  async (t) => {
    const { s, api } = await startStockServer(
      t,
      ['WH-A'],
      { 'sku-1': 'NONE' },
      {
        env: { RESERVATION_SWEEP_S: '0' },
      },
    );
    await posted(api, {
      type: 'RECEIPT',
      to_wh: 'WH-A',
      lines: [{ item_id: 'sku-1', qty: 10_000 }],
    });
    await s.sql.begin(async (tx) => {
      await tx`
        INSERT INTO reservations (id, item_id, warehouse_id, qty, status, expires_at, created_by)
        SELECT 'res_many' || lpad(i::text, 5, '0'), 'sku-1', 'WH-A', 1, 'ACTIVE',
          CASE WHEN i % 2 = 0 THEN now() + interval '1 day' END, 'seed'
        FROM generate_series(1, 3000) i`;
      await tx`UPDATE stock_levels SET reserved = reserved + 3000 WHERE item_id = 'sku-1' AND warehouse_id = 'WH-A'`;
    });
    t.match(await level(api, 'sku-1', 'WH-A'), { reserved: 3000, available: 7000 });

    // Due now, and nobody has expired them: reads leave them out, the stored figure still counts them.
    const due = [
      ok(
        await reserve(api, {
          item_id: 'sku-1',
          warehouse_id: 'WH-A',
          qty: 4,
          expires_at: inAnHour(),
        }),
      ),
      ok(
        await reserve(api, {
          item_id: 'sku-1',
          warehouse_id: 'WH-A',
          qty: 6,
          expires_at: inAnHour(),
        }),
      ),
    ];
    t.match(await level(api, 'sku-1', 'WH-A'), { reserved: 3010, available: 6990 });
    const makeDue = (id: string) =>
      s.sql`UPDATE reservations SET expires_at = now() - interval '1 second' WHERE id = ${id}`;
    await makeDue(due[0].id);
    t.match(
      await level(api, 'sku-1', 'WH-A'),
      { reserved: 3006, available: 6994 },
      'the due reservation no longer counts',
    );
    t.same(await reservedFigures(s.sql, 'sku-1', 'WH-A'), { stored: 3010, active: 3010 });
    t.same(await payloads(s.sql, 'inventory.reservation.expired'), [], 'not expired yet');

    // The next write of the level expires it first, with its events before the write's own.
    const next = ok(await reserve(api, { item_id: 'sku-1', warehouse_id: 'WH-A', qty: 1 }));
    const expired = await payloads(s.sql, 'inventory.reservation.expired');
    t.same(
      expired.map((e) => [e.data.id, e.data.status]),
      [[due[0].id, 'EXPIRED']],
    );
    const events = await s.sql<{ type: string; cause: string | null; reserved: number | null }[]>`
      SELECT type, payload->'data'->>'cause' AS cause, (payload->'data'->>'reserved')::numeric AS reserved
      FROM outbox WHERE seq > (SELECT seq FROM outbox WHERE payload->'data'->>'id' = ${due[1].id}
                               AND type = 'inventory.reservation.created')
      ORDER BY seq`;
    t.same(
      events.map((e) => [e.type, e.cause, e.reserved]),
      [
        ['inventory.stock_level.changed', due[1].id, 3010],
        ['inventory.reservation.expired', null, null],
        ['inventory.stock_level.changed', due[0].id, 3006],
        ['inventory.reservation.created', null, null],
        ['inventory.stock_level.changed', next.id, 3007],
      ],
      'the expiry and its level, then the reservation and its level',
    );
    t.same(await reservedFigures(s.sql, 'sku-1', 'WH-A'), { stored: 3007, active: 3007 });

    // With no write, the sweep expires it.
    await makeDue(due[1].id);
    t.match(await level(api, 'sku-1', 'WH-A'), { reserved: 3001 });
    t.equal(await inTransaction(s.sql, (tx) => sweepReservations(tx, 100)), 1);
    t.same(
      (await payloads(s.sql, 'inventory.reservation.expired')).map((e) => e.data.id),
      [due[0].id, due[1].id],
    );
    t.same(await reservedFigures(s.sql, 'sku-1', 'WH-A'), { stored: 3001, active: 3001 });
    t.match(await level(api, 'sku-1', 'WH-A'), { reserved: 3001, available: 6999 });
    t.same((await checkInvariants(s.sql)).violations, []);
  },
);
