// Procurement documents belong to warehouses, and a token restricted to some sees and changes only
// theirs (docs/standards.md §3); requisitions are approved by someone other than their requester.
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { createSql } from '../db/client.ts';
import { MIGRATIONS_DIR, migrate } from '../db/migrate.ts';
import { freshDatabase } from './helpers/db.ts';
import { startServer, type TestServer } from './helpers/server.ts';
import { createPo, ik, ok, receive, seedCatalogue, sentPo } from './helpers/procurement.ts';
import { startReceiver, WEBHOOK_TEST_ENV } from './helpers/webhooks.ts';
import { waitFor } from './helpers/wait.ts';

const problem = (slug: string) => `https://problems.inventory-api.dev/${slug}`;
const WH_A_ONLY = { sub: 'wh-a-clerk', warehouses: ['WH-A'] };

/** A requisition of one bolt line per warehouse given (none: a line without a warehouse). */
async function requisition(s: TestServer, warehouses: (string | undefined)[], sub = 'tester') {
  return ok(
    await s.client({ sub }).POST('/procurement/requisitions', {
      params: { header: ik() },
      body: {
        lines: warehouses.map((warehouse_id) => ({
          item_id: 'bolt',
          qty: 5,
          vendor_id: 'ven_fast',
          unit_price: '0.40',
          ...(warehouse_id && { warehouse_id }),
        })),
      },
    }),
  );
}

async function invoice(s: TestServer, po: { id: string; lines: { id: string }[] }, number: string) {
  return ok(
    await s.client().POST('/procurement/invoices', {
      params: { header: ik() },
      body: {
        po_id: po.id,
        number,
        lines: [{ po_line_id: po.lines[0].id, qty: 1, unit_price: '0.50' }],
      },
    }),
  );
}

t.test(
  "a WH-A token sees WH-A's procurement documents only: lists leave the others out, direct access is 403",
  async (t) => {
    const s = await startServer(t);
    const api = s.client();
    await seedCatalogue(api);
    const ids = async (path: string, token?: object) => {
      const res = await s.request(path, { token });
      t.equal(res.status, 200, path);
      return ((await res.json()).data as { id: string }[]).map((d) => d.id);
    };
    const status = async (path: string, init: RequestInit & { json?: unknown } = {}) => {
      const res = await s.request(path, { ...init, token: WH_A_ONLY });
      return { status: res.status, body: await res.json() };
    };
    const forbidden = (warehouse_id?: string) => ({
      status: 403,
      body: { type: problem('warehouse-forbidden'), ...(warehouse_id ? { warehouse_id } : {}) },
    });
    const post = (path: string, etag: string, json?: unknown) =>
      status(path, { method: 'POST', json, headers: { ...ik(), 'If-Match': etag } });
    const line = (po: { lines: { id: string }[] }) => [
      { po_line_id: po.lines[0].id, qty_received: 2 },
    ];

    // Unassigned documents (as every one was before orders had a warehouse) are for unrestricted
    // tokens only. A receipt into WH-A against an unassigned order is WH-A's; its order is nobody's.
    const poNone = await sentPo(api);
    const rNone = await receive(api, poNone, line(poNone), 'WH-A');
    const invNone = await invoice(s, poNone, 'INV-N');
    const reqNone = await requisition(s, [undefined]);
    t.same(await ids('/procurement/purchase-orders', WH_A_ONLY), [], 'no unassigned order listed');
    t.same(await ids('/procurement/invoices', WH_A_ONLY), [], 'nor its invoice');
    t.same(await ids('/procurement/requisitions', WH_A_ONLY), [], 'nor an unassigned requisition');
    t.same(await ids('/procurement/receipts', WH_A_ONLY), [rNone.id], 'the WH-A receipt is');
    const unassigned = await status(`/procurement/purchase-orders/${poNone.id}`);
    t.match(unassigned, forbidden());
    t.notOk('warehouse_id' in unassigned.body, 'an unassigned order names no warehouse');
    t.match(await status(`/procurement/purchase-orders/${poNone.id}/match`), forbidden());
    t.match(
      await post(`/procurement/purchase-orders/${poNone.id}/close`, poNone.etag),
      forbidden(),
    );
    t.match(await status(`/procurement/invoices/${invNone.id}`), forbidden());
    const ofNone = await status(`/procurement/receipts?po_id=${poNone.id}`);
    t.equal(
      ofNone.status,
      200,
      "filtering receipts by an order it cannot see lists the order's receipts it sees",
    );
    t.same(
      ofNone.body.data.map((r: { id: string; match?: unknown }) => [r.id, 'match' in r]),
      [[rNone.id, false]],
      'without the match, as listed unfiltered',
    );
    t.match(await status(`/procurement/invoices?po_id=${poNone.id}`), forbidden());
    t.match(await status(`/procurement/requisitions/${reqNone.id}`), forbidden());
    const noMatch = await status(`/procurement/receipts/${rNone.id}`);
    t.equal(noMatch.status, 200, 'a WH-A receipt of an unassigned order is seen');
    t.notOk('match' in noMatch.body, 'but not its match');
    t.ok(
      ok(await api.GET('/procurement/receipts/{id}', { params: { path: { id: rNone.id } } })).match,
      'an unrestricted token sees the match',
    );
    t.match(
      await status('/procurement/receipts', {
        method: 'POST',
        headers: ik(),
        json: { po_id: poNone.id, warehouse_id: 'WH-A', lines: line(poNone) },
      }),
      forbidden(),
      'no receiving against an order it cannot see',
    );

    // Documents of WH-A and of WH-B.
    const poA = await sentPo(api, { ship_to_warehouse_id: 'WH-A' });
    const poB = await sentPo(api, { ship_to_warehouse_id: 'WH-B' });
    const rA = await receive(api, poA, line(poA), 'WH-A');
    const rB = await receive(api, poB, line(poB), 'WH-B');
    const invA = await invoice(s, poA, 'INV-A');
    const invB = await invoice(s, poB, 'INV-B');
    const reqA = await requisition(s, ['WH-A']);
    const reqB = await requisition(s, ['WH-B']);
    const reqAB = await requisition(s, ['WH-A', 'WH-B']);

    t.same(await ids('/procurement/purchase-orders', WH_A_ONLY), [poA.id], 'orders');
    t.same(await ids('/procurement/receipts', WH_A_ONLY), [rA.id, rNone.id], 'receipts');
    t.same(await ids('/procurement/invoices', WH_A_ONLY), [invA.id], 'invoices');
    t.same(
      await ids('/procurement/requisitions', WH_A_ONLY),
      [reqAB.id, reqA.id],
      'requisitions with a line in WH-A',
    );
    t.same(await ids('/procurement/purchase-orders'), [poB.id, poA.id, poNone.id]);
    t.same(await ids('/procurement/invoices'), [invB.id, invA.id, invNone.id]);
    t.same(await ids('/procurement/requisitions'), [reqAB.id, reqB.id, reqA.id, reqNone.id]);

    t.match(await status(`/procurement/purchase-orders/${poA.id}`), {
      status: 200,
      body: { ship_to_warehouse_id: 'WH-A', created_by: 'tester' },
    });
    t.match(await status(`/procurement/purchase-orders/${poB.id}`), forbidden('WH-B'));
    t.match(await status(`/procurement/purchase-orders/${poB.id}/match`), forbidden('WH-B'));
    t.match(
      await status(`/procurement/purchase-orders/${poB.id}`, {
        method: 'PUT',
        json: {
          vendor_id: 'ven_fast',
          currency: 'EUR',
          ship_to_warehouse_id: 'WH-A',
          lines: [{ item_id: 'bolt', qty: 1, unit_price: '1.00' }],
        },
        headers: { 'If-Match': poB.etag },
      }),
      forbidden('WH-B'),
      'nor may it take an order of WH-B for itself',
    );
    t.match(
      await post(`/procurement/purchase-orders/${poB.id}/close`, poB.etag),
      forbidden('WH-B'),
    );

    t.match(await status(`/procurement/receipts/${rB.id}`), forbidden('WH-B'));
    t.match(await status(`/procurement/receipts/${rA.id}`), {
      status: 200,
      body: { match: { po_id: poA.id } },
    });
    t.match(
      await status(`/procurement/receipts?po_id=${poB.id}`),
      { status: 200, body: { data: [] } },
      'none of a WH-B order',
    );
    t.match(await status(`/procurement/invoices?po_id=${poB.id}`), forbidden('WH-B'));
    t.match(await status(`/procurement/invoices/${invB.id}`), forbidden('WH-B'));
    t.match(await status(`/procurement/invoices/${invA.id}`), { status: 200 });
    t.match(
      await status('/procurement/invoices', {
        method: 'POST',
        headers: ik(),
        json: {
          po_id: poB.id,
          number: 'INV-X',
          lines: [{ po_line_id: poB.lines[0].id, qty: 1, unit_price: '0.50' }],
        },
      }),
      forbidden('WH-B'),
    );

    t.match(await status(`/procurement/requisitions/${reqA.id}`), { status: 200 });
    t.match(await status(`/procurement/requisitions/${reqB.id}`), forbidden('WH-B'));
    t.match(
      await status(`/procurement/requisitions/${reqAB.id}`),
      { status: 200 },
      'a requisition is seen through any of its warehouses',
    );
    for (const req of [reqB, reqAB]) {
      t.match(
        await post(`/procurement/requisitions/${req.id}/approve`, req.etag),
        forbidden('WH-B'),
        'but approving commits every warehouse it names',
      );
      t.match(
        await post(`/procurement/requisitions/${req.id}/convert`, req.etag),
        forbidden('WH-B'),
      );
    }

    const [{ n }] = await s.sql`SELECT count(*)::int AS n FROM receipts`;
    t.equal(n, 3, 'nothing refused was recorded');

    // Audit entries carry the document's warehouses, so the audit list can scope them.
    const audited = async (entity: string, id: string) =>
      (
        await s.sql<{ w: string[] }[]>`
          SELECT DISTINCT warehouse_ids AS w FROM audit_log WHERE entity = ${entity} AND entity_id = ${id}`
      ).map((r) => r.w);
    t.same(
      await audited('purchase_order', poA.id),
      [['WH-A']],
      'created, sent, received, invoiced',
    );
    t.same(await audited('purchase_order', poNone.id), [[]]);
    t.same(await audited('invoice', invB.id), [['WH-B']]);
    t.same(await audited('requisition', reqAB.id), [['WH-A', 'WH-B']]);
    t.same(await audited('requisition', reqNone.id), [[]]);
  },
);

t.test(
  'separation of duties: procurement:approve, never by the requester; requester_id is the token subject',
  async (t) => {
    const s = await startServer(t);
    await seedCatalogue(s.client());
    const alice = { sub: 'alice', scope: 'inventory:read procurement:write procurement:approve' };
    const req = await requisition(s, [undefined], 'alice');
    t.equal(req.requester_id, 'alice');
    const approve = (token: object) =>
      s.request(`/procurement/requisitions/${req.id}/approve`, {
        method: 'POST',
        headers: { ...ik(), 'If-Match': req.etag },
        token,
      });

    const own = await approve(alice);
    t.equal(own.status, 403, 'the requester cannot approve, even with the scope');
    t.match(await own.json(), {
      type: problem('self-approval'),
      title: 'Requester cannot approve',
    });
    const writeOnly = await approve({ sub: 'bob', scope: 'inventory:read procurement:write' });
    t.equal(writeOnly.status, 403, 'procurement:write is not enough');
    t.match(await writeOnly.json(), {
      type: problem('insufficient-scope'),
      required_scopes: ['procurement:approve'],
    });
    const [{ status }] = await s.sql`SELECT status FROM requisitions WHERE id = ${req.id}`;
    t.equal(status, 'DRAFT', 'neither approved it');
    const approved = await approve({ sub: 'bob', scope: 'procurement:approve' });
    t.equal(approved.status, 200);
    t.match(await approved.json(), {
      status: 'APPROVED',
      requester_id: 'alice',
      approved_by: 'bob',
    });

    const onBehalf = await s.request('/procurement/requisitions', {
      method: 'POST',
      headers: ik(),
      json: { requester_id: 'mallory', lines: [{ item_id: 'bolt', qty: 1 }] },
      token: alice,
    });
    t.equal(onBehalf.status, 422, "a requisition cannot be filed in someone else's name");
    t.match((await onBehalf.json()).errors, [
      { pointer: '#/requester_id', code: 'must_be_token_subject' },
    ]);
    const [{ n }] = await s.sql`SELECT count(*)::int AS n FROM requisitions`;
    t.equal(n, 1, 'nothing was created');

    // A restricted token names one of its warehouses on every line.
    const restricted = (lines: unknown[]) =>
      s.request('/procurement/requisitions', {
        method: 'POST',
        headers: ik(),
        json: { lines },
        token: WH_A_ONLY,
      });
    const missing = await restricted([
      { item_id: 'bolt', qty: 1, warehouse_id: 'WH-A' },
      { item_id: 'bolt', qty: 1 },
    ]);
    t.equal(missing.status, 422);
    t.match((await missing.json()).errors, [
      { pointer: '#/lines/1/warehouse_id', code: 'required' },
    ]);
    const outside = await restricted([{ item_id: 'bolt', qty: 1, warehouse_id: 'WH-B' }]);
    t.equal(outside.status, 403);
    t.match(await outside.json(), { type: problem('warehouse-forbidden'), warehouse_id: 'WH-B' });
    const unknown = await s.request('/procurement/requisitions', {
      method: 'POST',
      headers: ik(),
      json: { lines: [{ item_id: 'bolt', qty: 1, warehouse_id: 'WH-NOPE' }] },
    });
    t.equal(unknown.status, 422);
    t.match((await unknown.json()).errors, [
      { pointer: '#/lines/0/warehouse_id', code: 'unknown_warehouse' },
    ]);
    const mine = await restricted([{ item_id: 'bolt', qty: 1, warehouse_id: 'WH-A' }]);
    t.equal(mine.status, 201);
    t.match(await mine.json(), { requester_id: 'wh-a-clerk', lines: [{ warehouse_id: 'WH-A' }] });
  },
);

t.test(
  'ship_to_warehouse_id: receipts go there, restricted tokens must set it within their claim, converting sets it',
  async (t) => {
    const s = await startServer(t);
    const api = s.client();
    await seedCatalogue(api);
    const create = (body: Record<string, unknown>, token?: object) =>
      s.request('/procurement/purchase-orders', {
        method: 'POST',
        headers: ik(),
        json: {
          vendor_id: 'ven_fast',
          lines: [{ item_id: 'bolt', qty: 1, unit_price: '1.00' }],
          ...body,
        },
        token,
      });
    const unnamed = await create({}, WH_A_ONLY);
    t.equal(unnamed.status, 422, 'a restricted token must say where the order ships');
    t.match((await unnamed.json()).errors, [
      { pointer: '#/ship_to_warehouse_id', code: 'required' },
    ]);
    const po = await sentPo(api, { ship_to_warehouse_id: 'WH-A' });
    const receiveInto = (warehouse_id: string, draft = false) =>
      s.request('/procurement/receipts', {
        method: 'POST',
        headers: ik(),
        json: {
          po_id: po.id,
          warehouse_id,
          draft,
          lines: [{ po_line_id: po.lines[0].id, qty_received: 1 }],
        },
      });
    const elsewhere = await receiveInto('WH-B');
    t.equal(elsewhere.status, 422, 'not into another warehouse');
    t.match((await elsewhere.json()).errors, [
      { pointer: '#/warehouse_id', code: 'warehouse_mismatch' },
    ]);
    const [{ n }] = await s.sql`SELECT count(*)::int AS n FROM receipts`;
    t.equal(n, 0, 'nothing was received');
    const draft = await receiveInto('WH-A', true);
    t.equal(draft.status, 201);
    const { id, etag } = await draft.json();
    const moved = await s.request(`/procurement/receipts/${id}`, {
      method: 'PUT',
      json: { warehouse_id: 'WH-B', lines: [{ po_line_id: po.lines[0].id, qty_received: 1 }] },
      headers: { 'If-Match': etag },
    });
    t.equal(moved.status, 422, 'nor may a draft move there');
    t.match((await moved.json()).errors, [
      { pointer: '#/warehouse_id', code: 'warehouse_mismatch' },
    ]);

    const outside = await create({ ship_to_warehouse_id: 'WH-B' }, WH_A_ONLY);
    t.equal(outside.status, 403);
    t.match(await outside.json(), { type: problem('warehouse-forbidden'), warehouse_id: 'WH-B' });
    const unknown = await create({ ship_to_warehouse_id: 'WH-NOPE' });
    t.equal(unknown.status, 422);
    t.match((await unknown.json()).errors, [
      { pointer: '#/ship_to_warehouse_id', code: 'unknown_warehouse' },
    ]);
    const mine = await create({ ship_to_warehouse_id: 'WH-A' }, WH_A_ONLY);
    t.equal(mine.status, 201);
    const created = await mine.json();
    t.match(created, { ship_to_warehouse_id: 'WH-A', created_by: 'wh-a-clerk' });

    // PUT in DRAFT replaces it; the WH-A token then no longer sees the order.
    const put = (ship?: string) =>
      api.PUT('/procurement/purchase-orders/{id}', {
        params: { path: { id: created.id }, header: { 'If-Match': created.etag } },
        body: {
          vendor_id: 'ven_fast',
          currency: 'EUR',
          lines: created.lines.map(({ id, item_id, qty, unit_price }: Record<string, unknown>) => ({
            id,
            item_id,
            qty,
            unit_price,
          })),
          ...(ship && { ship_to_warehouse_id: ship }),
        },
      });
    t.match((await put('WH-NOPE')).error, {
      errors: [{ pointer: '#/ship_to_warehouse_id', code: 'unknown_warehouse' }],
    });
    t.match(ok(await put('WH-B')), { ship_to_warehouse_id: 'WH-B' });
    t.equal(
      (await s.request(`/procurement/purchase-orders/${created.id}`, { token: WH_A_ONLY })).status,
      403,
    );

    // Converting groups lines by vendor and warehouse; each order ships to its lines' warehouse.
    const req = await requisition(s, ['WH-A', 'WH-B', 'WH-A', undefined]);
    const approved = ok(
      await s
        .client({ sub: 'manager', scope: 'procurement:approve' })
        .POST('/procurement/requisitions/{id}/approve', {
          params: { path: { id: req.id }, header: { ...ik(), 'If-Match': req.etag } },
        }),
    );
    const converted = ok(
      await api.POST('/procurement/requisitions/{id}/convert', {
        params: { path: { id: req.id }, header: { ...ik(), 'If-Match': approved.etag } },
      }),
    );
    const orders = await Promise.all(
      converted.purchase_order_ids.map(async (id) =>
        ok(await api.GET('/procurement/purchase-orders/{id}', { params: { path: { id } } })),
      ),
    );
    t.same(
      orders
        .map((o) => [o.ship_to_warehouse_id ?? null, o.lines.length, o.vendor_id])
        .sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)),
      [
        ['WH-A', 2, 'ven_fast'],
        ['WH-B', 1, 'ven_fast'],
        [null, 1, 'ven_fast'],
      ],
      'one order per (vendor, warehouse)',
    );
  },
);

t.test(
  'migration 0009: orders get the warehouse all their receipts went to, and so do their audit entries',
  async (t) => {
    const { url } = await freshDatabase(t, { empty: true });
    const sql = createSql(url, { max: 1 });
    t.teardown(() => sql.end({ timeout: 5 }));
    // The migrations before this one, then data as it was, then this one.
    const before = await mkdtemp(path.join(tmpdir(), 'migrations-'));
    t.teardown(() => rm(before, { recursive: true, force: true }));
    for (const file of await readdir(MIGRATIONS_DIR))
      if (file < '0009') await cp(path.join(MIGRATIONS_DIR, file), path.join(before, file));
    await migrate(sql, before);
    await sql`INSERT INTO warehouses (id, name) VALUES ('WH-A', 'A'), ('WH-B', 'B')`;
    await sql`INSERT INTO vendors (id, name, currency) VALUES ('ven', 'V', 'EUR')`;
    for (const id of ['po_one', 'po_two', 'po_none'])
      await sql`INSERT INTO purchase_orders (id, number, vendor_id, currency, status, created_by)
                VALUES (${id}, ${id}, 'ven', 'EUR', 'SENT', 'buyer')`;
    const receipts: [string, string, string][] = [
      ['r1', 'po_one', 'WH-A'],
      ['r2', 'po_one', 'WH-A'],
      ['r3', 'po_two', 'WH-A'],
      ['r4', 'po_two', 'WH-B'],
    ];
    for (const [id, po, wh] of receipts)
      await sql`INSERT INTO receipts (id, po_id, warehouse_id, status, created_by)
                VALUES (${id}, ${po}, ${wh}, 'PENDING', 'clerk')`;
    await sql`INSERT INTO invoices (id, vendor_id, po_id, number, currency, match_status, created_by)
              VALUES ('inv_one', 'ven', 'po_one', 'I-1', 'EUR', 'MATCHED', 'clerk')`;
    const audit = (entity: string, id: string) =>
      sql`INSERT INTO audit_log (actor, client_id, request_id, action, entity, entity_id)
          VALUES ('buyer', 'buyer', 'req', ${`${entity}.created`}, ${entity}, ${id})`;
    // Requisitions filed for someone else (requester_id was not yet the token's subject), by an
    // audit entry's actor, or with their creation entry pruned; one replaced by another user.
    for (const id of ['req_for_alice', 'req_pruned'])
      await sql`INSERT INTO requisitions (id, requester_id) VALUES (${id}, 'alice')`;
    await audit('requisition', 'req_for_alice');
    await sql`INSERT INTO audit_log (actor, client_id, request_id, action, entity, entity_id)
              VALUES ('bob', 'bob', 'req', 'requisition.updated', 'requisition', 'req_for_alice'),
                     ('carol', 'carol', 'req', 'requisition.updated', 'requisition', 'req_for_alice')`;
    for (const id of ['po_one', 'po_two', 'po_none']) await audit('purchase_order', id);
    await audit('invoice', 'inv_one');
    // Receipt entries embedded their order's match, whoever read them.
    for (const [id, po] of [
      ['r1', 'po_one'],
      ['r3', 'po_two'],
    ])
      await sql`INSERT INTO audit_log (actor, client_id, request_id, action, entity, entity_id, warehouse_ids, before, after)
                VALUES ('clerk', 'clerk', 'req', 'receipt.posted', 'receipt', ${id}, '{WH-A}',
                        ${sql.json({ id, status: 'PENDING', match: { po_id: po } })},
                        ${sql.json({ id, status: 'POSTED', match: { po_id: po } })})`;

    // Two events of a receipt of the order left unassigned: one still to be fanned out, one sent.
    for (const [id, dispatched] of [
      ['evt_pending', false],
      ['evt_sent', true],
    ] as const)
      await sql`INSERT INTO outbox (id, type, payload, dispatched_at)
                VALUES (${id}, 'inventory.receipt.posted',
                        ${sql.json({ id, data: { id: 'r3', po_id: 'po_two', match: { po_id: 'po_two' } } })},
                        ${dispatched ? sql`now()` : null})`;

    t.equal((await migrate(sql))[0], '0009_procurement_warehouses.sql', 'this one, then any later');
    t.same(
      [...(await sql`SELECT id, payload->'data' ? 'match' AS has_match FROM outbox ORDER BY id`)],
      [
        { id: 'evt_pending', has_match: false },
        { id: 'evt_sent', has_match: true },
      ],
      "an event still to be fanned out loses an unassigned order's match; one sent is history",
    );
    t.same(
      [...(await sql`SELECT id, ship_to_warehouse_id AS w FROM purchase_orders ORDER BY id`)],
      [
        { id: 'po_none', w: null },
        { id: 'po_one', w: 'WH-A' },
        { id: 'po_two', w: null },
      ],
      'one warehouse for all receipts: assigned; several or none: unassigned',
    );
    t.same(
      [...(await sql`SELECT id, created_by, updated_by FROM requisitions ORDER BY id`)],
      [
        { id: 'req_for_alice', created_by: 'buyer', updated_by: 'carol' },
        { id: 'req_pruned', created_by: 'alice', updated_by: null },
      ],
      'the creator is the actor of the creation entry, else the requester; the last to replace the lines is kept',
    );
    t.same(
      [
        ...(await sql`SELECT entity_id, warehouse_ids AS w FROM audit_log
                      WHERE entity <> 'requisition' ORDER BY entity_id`),
      ],
      [
        { entity_id: 'inv_one', w: ['WH-A'] },
        { entity_id: 'po_none', w: [] },
        { entity_id: 'po_one', w: ['WH-A'] },
        { entity_id: 'po_two', w: [] },
        { entity_id: 'r1', w: ['WH-A'] },
        { entity_id: 'r3', w: ['WH-A'] },
      ],
    );
    t.same(
      [
        ...(await sql`SELECT entity_id, before ? 'match' AS b, after ? 'match' AS a
                      FROM audit_log WHERE entity = 'receipt' ORDER BY entity_id`),
      ],
      [
        { entity_id: 'r1', b: true, a: true },
        { entity_id: 'r3', b: false, a: false },
      ],
      "receipt entries keep the match of an assigned order only: an unassigned one's is for no WH-A reader",
    );
    const [po] = await sql`SELECT created_by FROM purchase_orders WHERE id = 'po_one'`;
    t.equal(po.created_by, 'buyer', 'created_by was recorded from the start');
  },
);

t.test(
  "the match of an unassigned order reaches no WH-A reader through a receipt's event or audit entries",
  async (t) => {
    const s = await startServer(t, { env: WEBHOOK_TEST_ENV });
    const api = s.client();
    await seedCatalogue(api);
    const receiver = await startReceiver(t);
    ok(
      await s.client({ ...WH_A_ONLY, scope: 'webhooks:manage' }).POST('/webhooks/endpoints', {
        body: { url: receiver.url, events: ['inventory.receipt.posted'] },
      }),
    );
    const line = (po: { lines: { id: string }[] }) => [
      { po_line_id: po.lines[0].id, qty_received: 2 },
    ];
    // An unrestricted token receives into WH-A against an unassigned order: posted at once, and
    // as a draft that is changed, then posted (every receipt audit action).
    const poNone = await sentPo(api);
    const direct = await receive(api, poNone, line(poNone), 'WH-A');
    t.ok(direct.match, 'the unrestricted poster sees the match in its response');
    const draft = ok(
      await api.POST('/procurement/receipts', {
        params: { header: ik() },
        body: { po_id: poNone.id, warehouse_id: 'WH-A', draft: true, lines: line(poNone) },
      }),
    );
    const changed = ok(
      await api.PUT('/procurement/receipts/{id}', {
        params: { path: { id: draft.id }, header: { 'If-Match': draft.etag } },
        body: { warehouse_id: 'WH-A', lines: line(poNone) },
      }),
    );
    ok(
      await api.POST('/procurement/receipts/{id}/post', {
        params: { path: { id: draft.id }, header: { ...ik(), 'If-Match': changed.etag } },
      }),
    );
    // And against a WH-A order, whose match WH-A readers do see.
    const poA = await sentPo(api, { ship_to_warehouse_id: 'WH-A' });
    const assigned = await receive(api, poA, line(poA), 'WH-A');

    await waitFor('three receipt events delivered', () => receiver.acknowledged().length >= 3);
    const events = receiver
      .acknowledged()
      .map((r) => JSON.parse(r.body) as { data: { id: string; match?: unknown } });
    const matchIn = (id: string) =>
      events.filter((e) => e.data.id === id).map((e) => 'match' in e.data);
    t.same(
      matchIn(direct.id),
      [false],
      "the WH-A endpoint gets the event, without the order's match",
    );
    t.same(matchIn(draft.id), [false]);
    t.same(matchIn(assigned.id), [true], 'the match of a WH-A order is there');

    const entries = ok(
      await s.client(WH_A_ONLY).GET('/inventory/audit', {
        params: { query: { entity: 'receipt', limit: 200 } },
      }),
    ).data;
    const withMatch = (id: string) =>
      entries
        .filter((e) => e.entity_id === id)
        .map((e) => [e.action, 'match' in (e.before ?? {}), 'match' in (e.after ?? {})]);
    t.same(withMatch(direct.id), [['receipt.posted', false, false]]);
    t.same(withMatch(draft.id), [
      ['receipt.posted', false, false],
      ['receipt.updated', false, false],
      ['receipt.created', false, false],
    ]);
    t.same(withMatch(assigned.id), [['receipt.posted', false, true]]);
  },
);

t.test(
  'a requisition with a line of no warehouse is approved, converted and replaced by unrestricted tokens only',
  async (t) => {
    const s = await startServer(t);
    await seedCatalogue(s.client());
    const req = await requisition(s, ['WH-A', undefined]);
    const clerk = { ...WH_A_ONLY, scope: 'procurement:write procurement:approve inventory:read' };
    const act = (action: string, etag: string) =>
      s.request(`/procurement/requisitions/${req.id}/${action}`, {
        method: 'POST',
        headers: { ...ik(), 'If-Match': etag },
        token: clerk,
      });
    const forbidden = async (res: Response, what: string) => {
      t.equal(res.status, 403, what);
      const body = await res.json();
      t.match(body, { type: problem('warehouse-forbidden') }, what);
      t.notOk('warehouse_id' in body, 'the line names none');
    };
    t.equal(
      (await s.request(`/procurement/requisitions/${req.id}`, { token: clerk })).status,
      200,
      'the WH-A token sees it through its WH-A line',
    );
    await forbidden(await act('approve', req.etag), 'but may not approve it');
    const approved = ok(
      await s
        .client({ sub: 'manager', scope: 'procurement:approve' })
        .POST('/procurement/requisitions/{id}/approve', {
          params: { path: { id: req.id }, header: { ...ik(), 'If-Match': req.etag } },
        }),
    );
    await forbidden(
      await act('convert', approved.etag),
      'nor convert it, which would make an unassigned order',
    );
    const [{ n }] = await s.sql`SELECT count(*)::int AS n FROM purchase_orders`;
    t.equal(n, 0, 'no order was made');

    const draft = await requisition(s, ['WH-A', undefined]);
    await forbidden(
      await s.request(`/procurement/requisitions/${draft.id}`, {
        method: 'PUT',
        headers: { 'If-Match': draft.etag },
        json: { lines: [{ item_id: 'bolt', qty: 1, warehouse_id: 'WH-A' }] },
        token: clerk,
      }),
      'nor replace it',
    );
  },
);

t.test(
  'separation of duties: whoever created a requisition or last replaced its lines cannot approve it',
  async (t) => {
    const s = await startServer(t);
    await seedCatalogue(s.client());
    const duo = (sub: string) => ({
      sub,
      scope: 'inventory:read procurement:write procurement:approve',
    });
    const approve = (req: { id: string }, etag: string, sub: string) =>
      s.request(`/procurement/requisitions/${req.id}/approve`, {
        method: 'POST',
        headers: { ...ik(), 'If-Match': etag },
        token: duo(sub),
      });
    const selfApproval = async (res: Response, what: string) => {
      t.equal(res.status, 403, what);
      t.match(await res.json(), { type: problem('self-approval') }, what);
    };

    // Bob rewrites Alice's draft, then would approve what is now his.
    const req = await requisition(s, ['WH-A'], 'alice');
    const replaced = ok(
      await s.client(duo('bob')).PUT('/procurement/requisitions/{id}', {
        params: { path: { id: req.id }, header: { 'If-Match': req.etag } },
        body: {
          lines: [{ item_id: 'bolt', qty: 500, vendor_id: 'ven_fast', warehouse_id: 'WH-A' }],
        },
      }),
    );
    await selfApproval(await approve(req, replaced.etag, 'bob'), 'the last to change the lines');
    await selfApproval(await approve(req, replaced.etag, 'alice'), 'nor the requester');
    t.equal((await approve(req, replaced.etag, 'carol')).status, 200, 'a third person may');

    // A requisition from before requester_id was the token's subject: Mallory filed it for Alice.
    const legacy = await requisition(s, ['WH-A'], 'mallory');
    await s.sql`UPDATE requisitions SET requester_id = 'alice' WHERE id = ${legacy.id}`;
    await selfApproval(await approve(legacy, legacy.etag, 'mallory'), 'nor its creator');
    t.equal((await approve(legacy, legacy.etag, 'carol')).status, 200);
  },
);

t.test(
  'a WH-A token is refused what it cannot see or would take out of its claim, and self-approval is 403 before 412',
  async (t) => {
    const s = await startServer(t);
    const api = s.client();
    await seedCatalogue(api);
    const asClerk = async (path: string, init: RequestInit & { json?: unknown }) => {
      const res = await s.request(path, { ...init, token: WH_A_ONLY });
      return { status: res.status, body: await res.json() };
    };
    const forbidden = (warehouse_id?: string) => ({
      status: 403,
      body: { type: problem('warehouse-forbidden'), ...(warehouse_id ? { warehouse_id } : {}) },
    });
    const postAs = (path: string, etag: string) =>
      asClerk(path, { method: 'POST', headers: { ...ik(), 'If-Match': etag } });

    // Sending an order of WH-B, or of no warehouse.
    const draftB = await createPo(api, { ship_to_warehouse_id: 'WH-B' });
    const draftNone = await createPo(api);
    t.match(
      await postAs(`/procurement/purchase-orders/${draftB.id}/send`, draftB.etag),
      forbidden('WH-B'),
    );
    const sendNone = await postAs(
      `/procurement/purchase-orders/${draftNone.id}/send`,
      draftNone.etag,
    );
    t.match(sendNone, forbidden());
    t.notOk('warehouse_id' in sendNone.body);

    // A pending WH-A receipt of an unassigned order: the WH-A token sees it, but changing or
    // posting it changes the order.
    const poNone = await sentPo(api);
    const lines = [{ po_line_id: poNone.lines[0].id, qty_received: 1 }];
    const pending = ok(
      await api.POST('/procurement/receipts', {
        params: { header: ik() },
        body: { po_id: poNone.id, warehouse_id: 'WH-A', draft: true, lines },
      }),
    );
    t.match(
      await asClerk(`/procurement/receipts/${pending.id}`, {
        method: 'PUT',
        headers: { 'If-Match': pending.etag },
        json: { warehouse_id: 'WH-A', lines },
      }),
      forbidden(),
    );
    t.match(await postAs(`/procurement/receipts/${pending.id}/post`, pending.etag), forbidden());
    const [receipt] = await s.sql`SELECT status, version FROM receipts WHERE id = ${pending.id}`;
    t.match(receipt, { status: 'PENDING', version: 1 }, 'neither changed it');

    // Its own WH-A order: a PUT must keep it within the claim.
    const own = ok(
      await s.client(WH_A_ONLY).POST('/procurement/purchase-orders', {
        params: { header: ik() },
        body: {
          vendor_id: 'ven_fast',
          ship_to_warehouse_id: 'WH-A',
          lines: [{ item_id: 'bolt', qty: 1, unit_price: '1.00' }],
        },
      }),
    );
    const putOwn = (ship?: string) =>
      asClerk(`/procurement/purchase-orders/${own.id}`, {
        method: 'PUT',
        headers: { 'If-Match': own.etag },
        json: {
          vendor_id: 'ven_fast',
          currency: 'EUR',
          lines: [{ item_id: 'bolt', qty: 2, unit_price: '1.00' }],
          ...(ship && { ship_to_warehouse_id: ship }),
        },
      });
    t.match(
      await putOwn(),
      { status: 422, body: { errors: [{ pointer: '#/ship_to_warehouse_id', code: 'required' }] } },
      'omitting it would leave the order unassigned',
    );
    t.match(await putOwn('WH-B'), forbidden('WH-B'), 'nor may it move the order to WH-B');
    const [order] =
      await s.sql`SELECT ship_to_warehouse_id, version FROM purchase_orders WHERE id = ${own.id}`;
    t.same({ ...order }, { ship_to_warehouse_id: 'WH-A', version: 1 }, 'the order is unchanged');

    // An unassigned requisition.
    const reqNone = await requisition(s, [undefined]);
    t.match(
      await postAs(`/procurement/requisitions/${reqNone.id}/approve`, reqNone.etag),
      forbidden(),
    );
    t.match(
      await asClerk(`/procurement/requisitions/${reqNone.id}`, {
        method: 'PUT',
        headers: { 'If-Match': reqNone.etag },
        json: { lines: [{ item_id: 'bolt', qty: 1, warehouse_id: 'WH-A' }] },
      }),
      forbidden(),
    );
    const [req] = await s.sql`SELECT status, version FROM requisitions WHERE id = ${reqNone.id}`;
    t.match(req, { status: 'DRAFT', version: 1 });

    // Self-approval is decided before the precondition: a stale ETag does not hide it.
    const mine = await requisition(s, ['WH-A'], 'wh-a-clerk');
    const stale = await postAs(`/procurement/requisitions/${mine.id}/approve`, '"v99"');
    t.match(stale, { status: 403, body: { type: problem('self-approval') } });
  },
);
