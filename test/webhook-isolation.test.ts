// Webhook endpoints are their client's, and see what their creator's token could see
// (docs/webhooks.md, "Who sees what"): a warehouse-restricted token's endpoint receives only events
// of its warehouses; other clients' endpoints and deliveries are 404 and left out of lists; the
// audit log shows endpoint entries only to their owner with `webhooks:manage`, and entries of no
// warehouse to restricted tokens only for global entities; migration 0008 finds existing owners.
import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { listAudit, writeAudit } from '../db/audit.ts';
import { MIGRATIONS_DIR, migrate } from '../db/migrate.ts';
import type { components } from '../generated/api.ts';
import type { TokenOptions } from './helpers/auth.ts';
import { freshDatabase } from './helpers/db.ts';
import { startServer } from './helpers/server.ts';
import { createItem, createWarehouses, posted } from './helpers/stock.ts';
import {
  commitEvents,
  createEndpoint,
  schemaValidator,
  settled,
  startReceiver,
  WEBHOOK_TEST_ENV,
} from './helpers/webhooks.ts';

type EventType = components['schemas']['WebhookEventType'];
const BOTH: EventType[] = ['inventory.stock_move.posted', 'inventory.receipt.posted'];

t.test(
  'an endpoint made by a warehouse-restricted token receives only the events of its warehouses',
  async (t) => {
    const s = await startServer(t, { env: WEBHOOK_TEST_ENV });
    const admin = s.client();
    await createWarehouses(admin, 'WH-A', 'WH-B');
    await createItem(admin, 'sku-1');
    const [onlyA, everything] = await Promise.all([startReceiver(t), startReceiver(t)]);
    // The claim as the token lists it (unsorted, with a warehouse that has no events).
    const restricted = await createEndpoint(
      s,
      { client_id: 'partner', scope: 'webhooks:manage', warehouses: ['WH-C', 'WH-A'] },
      onlyA.url,
    );
    const unrestricted = await createEndpoint(
      s,
      { client_id: 'erp', scope: 'webhooks:manage' },
      everything.url,
    );
    t.equal(restricted.owner_client_id, 'partner', 'owned by the client that made it');
    t.same(restricted.warehouses, ['WH-A', 'WH-C'], "keeps its creator's claim, sorted");
    t.equal(unrestricted.owner_client_id, 'erp');
    t.notOk('warehouses' in unrestricted, 'an unrestricted creator: no warehouses');

    const receiptA = await posted(admin, {
      type: 'RECEIPT',
      to_wh: 'WH-A',
      lines: [{ item_id: 'sku-1', qty: 40 }],
    });
    const receiptB = await posted(admin, {
      type: 'RECEIPT',
      to_wh: 'WH-B',
      lines: [{ item_id: 'sku-1', qty: 20 }],
    });
    const transfer = await posted(admin, {
      type: 'TRANSFER',
      from_wh: 'WH-A',
      to_wh: 'WH-B',
      lines: [{ item_id: 'sku-1', qty: 10 }],
    });
    const issueB = await posted(admin, {
      type: 'ISSUE',
      from_wh: 'WH-B',
      lines: [{ item_id: 'sku-1', qty: 5 }],
    });
    const [receiptEventA] = await commitEvents(s.sql, 'inventory.receipt.posted', 1, {
      data: { warehouse_id: 'WH-A' },
    });
    const [receiptEventB] = await commitEvents(s.sql, 'inventory.receipt.posted', 1, {
      data: { warehouse_id: 'WH-B' },
    });
    await settled(s.sql);

    const validate = {
      'inventory.stock_move.posted': schemaValidator('StockMovePostedEvent'),
      'inventory.receipt.posted': schemaValidator('ReceiptPostedEvent'),
    };
    const eventsAt = (r: typeof onlyA) =>
      r.received.map((x) => {
        const event = JSON.parse(x.body);
        t.equal(
          validate[event.type as keyof typeof validate](event),
          null,
          `a valid ${event.type} event`,
        );
        return event as { id: string; warehouse_ids: string[]; data: { id: string } };
      });
    const moveIds = (r: typeof onlyA) =>
      eventsAt(r)
        .filter((e) => e.data.id.startsWith('sm_'))
        .map((e) => e.data.id)
        .sort();
    const receiptEventIds = (r: typeof onlyA) =>
      eventsAt(r)
        .filter((e) => !e.data.id.startsWith('sm_'))
        .map((e) => e.id)
        .sort();

    t.same(
      moveIds(onlyA),
      [receiptA.id, transfer.id].sort(),
      'the WH-A endpoint gets the moves touching WH-A (the transfer A→B included), never WH-B-only ones',
    );
    t.same(receiptEventIds(onlyA), [receiptEventA], 'and the receipts of WH-A only');
    t.same(
      moveIds(everything),
      [receiptA.id, receiptB.id, transfer.id, issueB.id].sort(),
      'the unrestricted endpoint gets every move',
    );
    t.same(receiptEventIds(everything), [receiptEventA, receiptEventB].sort());

    const expected = new Map<string, string[]>([
      [receiptA.id, ['WH-A']],
      [receiptB.id, ['WH-B']],
      [transfer.id, ['WH-A', 'WH-B']],
      [issueB.id, ['WH-B']],
    ]);
    for (const event of eventsAt(everything)) {
      t.same(
        event.warehouse_ids,
        expected.get(event.data.id) ?? [event.id === receiptEventA ? 'WH-A' : 'WH-B'],
        `event ${event.id} names its warehouses`,
      );
    }
    const [{ n }] = await s.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = ${restricted.id}`;
    t.equal(n, 3, 'no delivery was even made for the events of WH-B');
  },
);

t.test(
  "another client's endpoints and deliveries are 404 and left out of lists; a restricted token manages only endpoints within its claim",
  async (t) => {
    const s = await startServer(t, { env: WEBHOOK_TEST_ENV });
    const x: TokenOptions = { client_id: 'client-x', scope: 'webhooks:manage' };
    const y: TokenOptions = { client_id: 'client-y', scope: 'webhooks:manage' };
    const yOnlyA: TokenOptions = { ...y, warehouses: ['WH-A'] };
    const [failing, fine] = await Promise.all([
      startReceiver(t, () => ({ status: 500 })),
      startReceiver(t),
    ]);
    const ours = await createEndpoint(s, y, failing.url);
    const theirs = await createEndpoint(s, x, fine.url);
    await commitEvents(s.sql, 'inventory.stock_move.posted'); // about WH-A
    await settled(s.sql);
    const [failed] = (
      await s.client(y).GET('/webhooks/deliveries', { params: { query: { status: 'FAILED' } } })
    ).data!.data;
    t.equal(failed.endpoint_id, ours.id, "client Y sees its endpoint's failed delivery");

    const asX = s.client(x);
    t.same(
      (await asX.GET('/webhooks/endpoints')).data!.data.map((e) => e.id),
      [theirs.id],
      "client X lists its own endpoint, not client Y's",
    );
    const id = { params: { path: { id: ours.id } } };
    const get = await asX.GET('/webhooks/endpoints/{id}', id);
    t.equal(get.response.status, 404, 'X cannot read it');
    t.match(get.error, { type: 'https://problems.inventory-api.dev/not-found' });
    const unknown = await asX.GET('/webhooks/endpoints/{id}', {
      params: { path: { id: 'whk_0' } },
    });
    t.equal(get.error?.detail?.replace(ours.id, '?'), unknown.error?.detail?.replace('whk_0', '?'));
    const rotate = await asX.POST('/webhooks/endpoints/{id}/rotate-secret', {
      params: { path: { id: ours.id }, header: { 'If-Match': '"v1"' } },
    });
    t.equal(rotate.response.status, 404, 'X cannot rotate it (nor read its new secret)');
    t.notOk(rotate.data, 'no secret');
    const del = await asX.DELETE('/webhooks/endpoints/{id}', id);
    t.equal(del.response.status, 404, 'X cannot delete it');
    const xDeliveries = (await asX.GET('/webhooks/deliveries')).data!.data;
    t.ok(xDeliveries.length > 0, "X sees its own endpoint's delivery");
    t.ok(
      xDeliveries.every((d) => d.endpoint_id === theirs.id),
      "and none of Y's",
    );
    t.same(
      (await asX.GET('/webhooks/deliveries', { params: { query: { endpoint_id: ours.id } } })).data!
        .data,
      [],
      "filtering on Y's endpoint lists nothing",
    );
    const retry = await asX.POST('/webhooks/deliveries/{id}/retry', {
      params: { path: { id: failed.id } },
    });
    t.equal(retry.response.status, 404, "X cannot retry Y's delivery");

    // Y's token restricted to WH-A: Y's unrestricted endpoint sees more than it may.
    const asYOnlyA = s.client(yOnlyA);
    t.same((await asYOnlyA.GET('/webhooks/endpoints')).data!.data, [], 'not listed');
    t.equal((await asYOnlyA.GET('/webhooks/endpoints/{id}', id)).response.status, 404);
    t.equal(
      (
        await asYOnlyA.POST('/webhooks/endpoints/{id}/rotate-secret', {
          params: { path: { id: ours.id }, header: { 'If-Match': '"v1"' } },
        })
      ).response.status,
      404,
    );
    t.equal((await asYOnlyA.DELETE('/webhooks/endpoints/{id}', id)).response.status, 404);
    t.same((await asYOnlyA.GET('/webhooks/deliveries')).data!.data, [], 'nor its deliveries');
    t.equal(
      (
        await asYOnlyA.POST('/webhooks/deliveries/{id}/retry', {
          params: { path: { id: failed.id } },
        })
      ).response.status,
      404,
    );

    const asY = s.client(y);
    const still = await asY.GET('/webhooks/endpoints/{id}', id);
    t.equal(still.response.status, 200, 'Y still has it');
    t.equal(still.data!.etag, '"v1"', 'never rotated');
    t.equal(
      (await asY.POST('/webhooks/deliveries/{id}/retry', { params: { path: { id: failed.id } } }))
        .response.status,
      200,
      'Y retries its delivery',
    );

    // An endpoint made within WH-A: managed by Y's tokens whose claim holds WH-A, or none.
    const withinA = await createEndpoint(s, yOnlyA, fine.url);
    const within = { params: { path: { id: withinA.id } } };
    for (const [token, status] of [
      [yOnlyA, 200],
      [{ ...y, warehouses: ['WH-B', 'WH-A'] }, 200],
      [y, 200],
      [{ ...y, warehouses: ['WH-B'] }, 404],
      [{ ...x, warehouses: ['WH-A'] }, 404],
    ] as [TokenOptions, number][]) {
      t.equal(
        (await s.client(token).GET('/webhooks/endpoints/{id}', within)).response.status,
        status,
        `${token.client_id} ${JSON.stringify(token.warehouses ?? 'unrestricted')}: ${status}`,
      );
    }
    t.same(
      (await asYOnlyA.GET('/webhooks/endpoints')).data!.data.map((e) => e.id),
      [withinA.id],
      'the WH-A token lists the endpoint within its claim',
    );
    t.equal(
      (await asYOnlyA.DELETE('/webhooks/endpoints/{id}', within)).response.status,
      204,
      'and deletes it',
    );
  },
);

t.test(
  'a token whose warehouses claim is empty may not create an endpoint: it would receive nothing, and any restricted token of its client would manage it',
  async (t) => {
    const s = await startServer(t, { env: WEBHOOK_TEST_ENV });
    const receiver = await startReceiver(t);
    const { response, error } = await s
      .client({ client_id: 'client-y', scope: 'webhooks:manage', warehouses: [] })
      .POST('/webhooks/endpoints', { body: { url: receiver.url, events: BOTH } });
    t.equal(response.status, 403);
    t.match(error, { type: 'https://problems.inventory-api.dev/warehouse-forbidden' });
    t.notOk(error && 'warehouse_id' in error, 'no warehouse to name');
    const [{ n }] = await s.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM webhook_endpoints`;
    t.equal(n, 0, 'nothing was made');
    await t.rejects(
      s.sql`INSERT INTO webhook_endpoints (id, url, events, secret, owner_client_id, warehouses)
            VALUES ('whk_empty', ${receiver.url}, ${BOTH}, 'whsec_x', 'client-y', '{}')`,
      { code: '23514', message: /webhook_endpoints_warehouses_not_empty/ },
      'nor can the database hold one',
    );
  },
);

t.test(
  'the audit log shows webhook endpoint entries only to their owner with webhooks:manage, and entries of no warehouse to restricted tokens only for global entities',
  async (t) => {
    const s = await startServer(t, { env: WEBHOOK_TEST_ENV });
    const admin = s.client({ client_id: 'admin' });
    await createWarehouses(admin, 'WH-A', 'WH-B');
    await createItem(admin, 'sku-1');
    const [fine, gone] = await Promise.all([
      startReceiver(t),
      startReceiver(t, () => ({ status: 410 })),
    ]);
    const y: TokenOptions = { client_id: 'client-y' };
    const yOnlyA: TokenOptions = { ...y, warehouses: ['WH-A'] };
    const x: TokenOptions = { client_id: 'client-x' };
    // The entries show the URL, a token in its query included (user:password@ is refused).
    const unrestricted = await createEndpoint(s, y, 'https://erp.example.com/hooks?token=t0k3n', [
      'inventory.receipt.posted',
    ]);
    const rotated = await s.client(y).POST('/webhooks/endpoints/{id}/rotate-secret', {
      params: { path: { id: unrestricted.id }, header: { 'If-Match': '"v1"' } },
    });
    t.equal(rotated.response.status, 200);
    const withinA = await createEndpoint(s, yOnlyA, fine.url);
    // Made by a WH-A and WH-B token: WH-A tokens see its warehouses overlap but do not manage it.
    const yAB: TokenOptions = { ...y, warehouses: ['WH-B', 'WH-A'] };
    const acrossAB = await createEndpoint(s, yAB, fine.url);
    const disabled = await createEndpoint(s, y, gone.url);
    const xs = await createEndpoint(s, x, fine.url);
    // A stock move event for the endpoint answering 410: the dispatcher disables it, as "system".
    await commitEvents(s.sql, 'inventory.stock_move.posted');
    await settled(s.sql);
    const actor = { sub: 'someone', clientId: 'admin', requestId: 'req-1' };
    for (const [entity, entityId, warehouseIds] of [
      ['purchase_order', 'po_none', []],
      ['vendor', 'ven_1', []],
      ['receipt', 'rcpt_a', ['WH-A']],
      ['receipt', 'rcpt_b', ['WH-B']],
    ] as const) {
      await writeAudit(s.sql, actor, {
        action: `${entity}.created`,
        entity,
        entityId,
        warehouseIds: [...warehouseIds],
      });
    }

    const entries = async (token: TokenOptions) => {
      const { data, error } = await s
        .client(token)
        .GET('/inventory/audit', { params: { query: { limit: 200 } } });
      if (!data) throw new Error(JSON.stringify(error));
      return data.data;
    };
    const ofEndpoints = async (token: TokenOptions) =>
      (await entries(token))
        .filter((e) => e.entity === 'webhook_endpoint')
        .map((e) => `${e.action} ${e.entity_id}`)
        .sort();
    const seen = async (token: TokenOptions) =>
      (await entries(token)).map((e) => `${e.entity} ${e.entity_id}`).sort();

    t.same(
      await ofEndpoints({ ...y, scope: 'inventory:read' }),
      [],
      "inventory:read alone sees no endpoint's entries, not even its client's",
    );
    t.same(await ofEndpoints({ ...yOnlyA, scope: 'inventory:read' }), []);
    t.same(
      await ofEndpoints(x),
      [`webhook_endpoint.created ${xs.id}`],
      "client X sees its endpoint's entries, not client Y's",
    );
    t.same(
      await ofEndpoints(y),
      [
        `webhook_endpoint.created ${acrossAB.id}`,
        `webhook_endpoint.created ${disabled.id}`,
        `webhook_endpoint.created ${unrestricted.id}`,
        `webhook_endpoint.created ${withinA.id}`,
        `webhook_endpoint.disabled ${disabled.id}`,
        `webhook_endpoint.secret_rotated ${unrestricted.id}`,
      ].sort(),
      "the owner sees its endpoints' entries, the dispatcher's disabling included",
    );
    t.same(
      await ofEndpoints(yOnlyA),
      [`webhook_endpoint.created ${withinA.id}`],
      "a restricted owner sees the entries of the endpoints it manages (within its claim), not the others'",
    );
    t.equal(
      (
        await s.client(yOnlyA).GET('/webhooks/endpoints/{id}', {
          params: { path: { id: acrossAB.id } },
        })
      ).response.status,
      404,
      'the WH-A token does not manage the WH-A and WH-B endpoint…',
    );
    t.same(
      await ofEndpoints(yAB),
      [`webhook_endpoint.created ${acrossAB.id}`, `webhook_endpoint.created ${withinA.id}`].sort(),
      '…so only a token whose claim holds both sees its entries',
    );

    const restricted = await seen({ ...yOnlyA, scope: 'inventory:read' });
    for (const visible of ['item sku-1', 'vendor ven_1', 'warehouse WH-A', 'receipt rcpt_a'])
      t.ok(restricted.includes(visible), `a WH-A token sees ${visible}`);
    for (const hidden of ['purchase_order po_none', 'receipt rcpt_b', 'warehouse WH-B'])
      t.notOk(restricted.includes(hidden), `a WH-A token does not see ${hidden}`);
    t.ok(
      (await seen({ ...y, scope: 'inventory:read' })).includes('purchase_order po_none'),
      'an unrestricted token sees the entry of no warehouse',
    );

    // The dispatcher's entry shows the endpoint as the API does (the handlers' entries do).
    const asY = s.client(y);
    const shown = await asY.GET('/webhooks/endpoints/{id}', {
      params: { path: { id: disabled.id } },
    });
    const [disabling] = (await entries(y)).filter(
      (e) => e.action === 'webhook_endpoint.disabled' && e.entity_id === disabled.id,
    );
    t.same(disabling.after, shown.data, "the disabled entry's endpoint is the API's view of it");

    // No entry of any endpoint action holds a secret: neither the field nor its value.
    const deleted = await asY.DELETE('/webhooks/endpoints/{id}', {
      params: { path: { id: unrestricted.id } },
    });
    t.equal(deleted.response.status, 204);
    const secrets = [unrestricted.secret, rotated.data!.secret, withinA.secret, disabled.secret];
    const logged = await s.sql<{ action: string; before: unknown; after: unknown }[]>`
      SELECT action, before, after FROM audit_log WHERE entity = 'webhook_endpoint'`;
    t.same(
      [...new Set(logged.map((e) => e.action))].sort(),
      [
        'webhook_endpoint.created',
        'webhook_endpoint.deleted',
        'webhook_endpoint.disabled',
        'webhook_endpoint.secret_rotated',
      ],
      'every endpoint action is looked at',
    );
    for (const { action, before, after } of logged) {
      for (const shot of [before, after].filter((x) => x !== null) as Record<string, unknown>[]) {
        t.notOk('secret' in shot || 'previous_secret' in shot, `${action}: no secret field`);
        const text = JSON.stringify(shot);
        t.notOk(
          secrets.some((secret) => text.includes(secret)) || text.includes('whsec_'),
          `${action}: no secret`,
        );
      }
    }
  },
);

t.test(
  'migration 0008 gives existing endpoints the client of their creation entry, and events their warehouses',
  async (t) => {
    const { sql } = await freshDatabase(t, { empty: true });
    const dir = await mkdtemp(join(tmpdir(), 'migrations-0008-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const earlier = (await readdir(MIGRATIONS_DIR)).filter((f) => /^000[1-7]_.*\.sql$/.test(f));
    t.equal(earlier.length, 7, 'migrations 0001 to 0007');
    for (const f of earlier) await copyFile(join(MIGRATIONS_DIR, f), join(dir, f));
    await migrate(sql, dir);

    // As the API left them before 0008: endpoints, their audit entries, events and deliveries.
    await sql`
      INSERT INTO webhook_endpoints (id, url, events, secret) VALUES
        ('whk_owned', 'https://erp.example.com/a', '{inventory.stock_move.posted}', 'whsec_a'),
        ('whk_orphan', 'https://erp.example.com/b', '{inventory.stock_move.posted}', 'whsec_b')`;
    await sql`
      INSERT INTO audit_log (actor, client_id, request_id, action, entity, entity_id) VALUES
        ('alice', 'erp', 'r1', 'webhook_endpoint.created', 'webhook_endpoint', 'whk_owned'),
        ('mallory', 'intruder', 'r2', 'webhook_endpoint.secret_rotated', 'webhook_endpoint', 'whk_owned'),
        ('mallory', 'intruder', 'r3', 'webhook_endpoint.secret_rotated', 'webhook_endpoint', 'whk_orphan'),
        ('alice', 'erp', 'r4', 'webhook_endpoint.created', 'webhook_endpoint', 'whk_gone'),
        ('mallory', 'intruder', 'r5', 'webhook_endpoint.deleted', 'webhook_endpoint', 'whk_gone')`;
    const move = (id: string, from: string | null, to: string | null) => ({
      id,
      type: 'inventory.stock_move.posted',
      timestamp: '2026-01-01T00:00:00.000Z',
      data: { id: `sm_${id}`, ...(from && { from_wh: from }), ...(to && { to_wh: to }) },
    });
    await sql`
      INSERT INTO outbox (id, type, payload, dispatched_at) VALUES
        ('evt_new', 'inventory.stock_move.posted', ${sql.json(move('evt_new', 'WH-B', 'WH-A'))}, NULL),
        ('evt_pending', 'inventory.stock_move.posted', ${sql.json(move('evt_pending', null, 'WH-A'))}, now()),
        ('evt_sent', 'inventory.stock_move.posted', ${sql.json(move('evt_sent', 'WH-A', null))}, now())`;
    await sql`
      INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, status, next_attempt_at) VALUES
        ('whd_1', 'whk_orphan', 'evt_pending', 'inventory.stock_move.posted', 'PENDING', now()),
        ('whd_2', 'whk_owned', 'evt_pending', 'inventory.stock_move.posted', 'PENDING', now()),
        ('whd_3', 'whk_owned', 'evt_sent', 'inventory.stock_move.posted', 'SUCCEEDED', NULL)`;

    await copyFile(
      join(MIGRATIONS_DIR, '0008_webhook_ownership.sql'),
      join(dir, '0008_webhook_ownership.sql'),
    );
    t.same(await migrate(sql, dir), ['0008_webhook_ownership.sql']);

    t.same(
      (
        await sql`SELECT id, owner_client_id, warehouses, active, disabled_reason IS NOT NULL AS has_reason
                  FROM webhook_endpoints ORDER BY id`
      ).map((r) => ({ ...r })),
      [
        {
          id: 'whk_orphan',
          owner_client_id: null,
          warehouses: null,
          active: false,
          has_reason: true,
        },
        {
          id: 'whk_owned',
          owner_client_id: 'erp',
          warehouses: null,
          active: true,
          has_reason: false,
        },
      ],
      'owned by the client of the creation entry (not of a later one), unrestricted; no owner: disabled',
    );
    t.same(
      (await sql`SELECT id, status FROM webhook_deliveries ORDER BY id`).map((r) => ({ ...r })),
      [
        { id: 'whd_1', status: 'FAILED' },
        { id: 'whd_2', status: 'PENDING' },
        { id: 'whd_3', status: 'SUCCEEDED' },
      ],
      "the ownerless endpoint's pending delivery failed, the others untouched",
    );
    const [disabling] = await sql`
      SELECT client_id, action FROM audit_log WHERE entity_id = 'whk_orphan' ORDER BY id DESC LIMIT 1`;
    t.same({ ...disabling }, { client_id: 'system', action: 'webhook_endpoint.disabled' });

    // Who sees the endpoints' entries now: the owner, whoever acted; nobody for the ownerless one.
    const seenBy = async (clientId: string) =>
      (
        await listAudit(sql, {
          entity: 'webhook_endpoint',
          clientId,
          managesWebhooks: true,
          allowed: null,
          after: null,
          limit: 100,
        })
      )
        .map((e) => `${e.actor} ${e.action} ${e.entity_id}`)
        .sort();
    t.same(
      await seenBy('erp'),
      [
        'alice webhook_endpoint.created whk_gone',
        'alice webhook_endpoint.created whk_owned',
        'mallory webhook_endpoint.deleted whk_gone',
        'mallory webhook_endpoint.secret_rotated whk_owned',
      ],
      "the owner sees the intruder's rotation and deletion of its endpoints",
    );
    t.same(await seenBy('intruder'), [], 'the intruder sees none of them, its own acts included');
    t.same(
      await seenBy('system'),
      [],
      "a token whose client is 'system' does not see the migration's disabling",
    );
    t.same(
      (
        await sql`SELECT id, warehouse_ids, payload->'warehouse_ids' AS body FROM outbox ORDER BY id`
      ).map((r) => ({ ...r })),
      [
        { id: 'evt_new', warehouse_ids: ['WH-A', 'WH-B'], body: ['WH-A', 'WH-B'] },
        { id: 'evt_pending', warehouse_ids: ['WH-A'], body: ['WH-A'] },
        { id: 'evt_sent', warehouse_ids: [], body: null },
      ],
      'events still to send name their warehouses, in the column and the body',
    );
  },
);
