import t from 'tap';
import type { Test } from 'tap';
import { startServer } from './helpers/server.ts';
import { ik, ok, receive, seedCatalogue, sentPo } from './helpers/procurement.ts';

async function setup(t: Test) {
  const s = await startServer(t);
  const clerk = s.client({ sub: 'ap-clerk' });
  const approver = s.client({ sub: 'carol', scope: 'inventory:read procurement:approve' });
  await seedCatalogue(clerk);
  const po = await sentPo(clerk, {
    lines: [
      { item_id: 'bolt', qty: 10, unit_price: '0.50' },
      { item_id: 'glue', qty: 4, unit_price: '7.90' },
    ],
  });
  const record = (number: string, qty: number, type?: 'INVOICE' | 'CREDIT_NOTE', line = 0) =>
    clerk.POST('/procurement/invoices', {
      params: { header: ik() },
      body: {
        po_id: po.id,
        number,
        ...(type ? { type } : {}),
        lines: [{ po_line_id: po.lines[line].id, qty, unit_price: line ? '7.90' : '0.50' }],
      },
    });
  const voidIt = (id: string, etag: string, headers: Record<string, string> = ik()) =>
    s.request(`/procurement/invoices/${id}/void`, {
      method: 'POST',
      headers: { 'If-Match': etag, ...headers },
    });
  const report = async () =>
    ok(
      await clerk.GET('/procurement/purchase-orders/{id}/match', {
        params: { path: { id: po.id } },
      }),
    );
  const order = async () =>
    ok(await clerk.GET('/procurement/purchase-orders/{id}', { params: { path: { id: po.id } } }));
  return { s, clerk, approver, po, record, voidIt, report, order };
}

t.test('void: RECORDED → VOID, its quantities leave the order, ETag/304/412/428/409', async (t) => {
  const { s, record, voidIt, report, order } = await setup(t);
  const inv = ok(await record('INV-1', 3));
  t.match(inv, { type: 'INVOICE', status: 'RECORDED', etag: '"v1"' });
  const got = await s.request(`/procurement/invoices/${inv.id}`);
  t.equal(got.headers.get('etag'), '"v1"');
  const cached = await s.request(`/procurement/invoices/${inv.id}`, {
    headers: { 'If-None-Match': '"v1"' },
  });
  t.equal(cached.status, 304);
  t.match((await order()).lines[0], { qty_invoiced: 3, qty_credited: 0 });

  const noMatch = await s.request(`/procurement/invoices/${inv.id}/void`, {
    method: 'POST',
    headers: ik(),
  });
  t.equal(noMatch.status, 428);
  t.equal((await voidIt(inv.id, '"v9"')).status, 412);

  const key = ik();
  const voided = await voidIt(inv.id, '"v1"', key);
  t.equal(voided.status, 200);
  const body = await voided.json();
  t.match(body, { status: 'VOID', etag: '"v2"' });
  t.equal(voided.headers.get('etag'), '"v2"');
  const replay = await voidIt(inv.id, '"v1"', key);
  t.equal(replay.status, 200, 'the same Idempotency-Key answers as before');
  t.equal(replay.headers.get('idempotent-replayed'), 'true');
  t.same(await replay.json(), body);

  const again = await voidIt(inv.id, '"v2"');
  t.equal(again.status, 409);
  t.match(await again.json(), { type: /invalid-state$/, current_status: 'VOID' });
  t.match((await order()).lines[0], { qty_invoiced: 0, qty_credited: 0 });
  t.match((await report()).lines[0], { invoiced: 0, invoiced_unit_price: null });
});

t.test('two concurrent voids with the same ETag: exactly one wins', async (t) => {
  const { record, voidIt, order } = await setup(t);
  const inv = ok(await record('INV-1', 3));
  const answers = await Promise.all([voidIt(inv.id, '"v1"'), voidIt(inv.id, '"v1"')]);
  t.same(answers.map((a) => a.status).sort(), [200, 412]);
  t.match((await order()).lines[0], { qty_invoiced: 0 });
});

t.test('credit notes: credited apart, never beyond invoiced, the match nets them', async (t) => {
  const { s, clerk, po, record, voidIt, report, order } = await setup(t);
  await receive(clerk, po, [{ po_line_id: po.lines[0].id, qty_received: 2 }]);
  const inv = ok(await record('INV-1', 5));
  t.equal(inv.match_status, 'EXCEPTION', '5 invoiced against 2 received');
  t.match((await report()).lines[0], { received: 2, invoiced: 5, status: 'EXCEPTION' });

  const over = await record('CN-0', 6, 'CREDIT_NOTE');
  t.equal(over.response.status, 409);
  t.match(over.error, { type: /over-credit$/, invoiced: 5, credited: 0, requested: 6 });

  const cn = ok(await record('CN-1', 3, 'CREDIT_NOTE'));
  t.match(cn, { type: 'CREDIT_NOTE', status: 'RECORDED', match_status: 'MATCHED' });
  t.match((await order()).lines[0], { qty_invoiced: 5, qty_credited: 3 });
  t.match((await report()).lines[0], { invoiced: 2, status: 'MATCHED' });

  // Voiding the invoice would leave 3 credited against nothing invoiced.
  const blocked = await voidIt(inv.id, inv.etag);
  t.equal(blocked.status, 409);
  t.match(await blocked.json(), { type: /over-credit$/ });

  t.equal((await voidIt(cn.id, cn.etag)).status, 200);
  t.match((await order()).lines[0], { qty_invoiced: 5, qty_credited: 0 });
  t.match((await report()).lines[0], { invoiced: 5, status: 'EXCEPTION' });
  t.equal((await voidIt(inv.id, inv.etag)).status, 200);
  t.match((await report()).lines[0], { invoiced: 0 });

  // Concurrent credit notes on one line: together never more than invoiced.
  ok(await record('INV-2', 4));
  const credits = await Promise.all(
    [1, 2, 3, 4, 5].map((i) => record(`CN-R${i}`, 1.5, 'CREDIT_NOTE')),
  );
  const created = credits.filter((c) => c.response.status === 201).length;
  t.equal(created, 2, 'two of 1.5 fit in 4');
  t.same(
    credits.map((c) => c.response.status).filter((st) => st !== 201),
    [409, 409, 409],
  );
  t.match((await order()).lines[0], { qty_invoiced: 4, qty_credited: 3 });
  t.match((await report()).lines[0], { invoiced: 1 });
  void s;
});

t.test('accept: an exception, by someone else with procurement:approve', async (t) => {
  const { s, clerk, approver, record } = await setup(t);
  const inv = ok(await record('INV-1', 3));
  t.equal(inv.match_status, 'EXCEPTION');
  const accept = (api: typeof clerk, etag: string, headers = ik()) =>
    api.POST('/procurement/invoices/{id}/accept', {
      params: { path: { id: inv.id }, header: { 'If-Match': etag, ...headers } },
      body: { reason: 'Rest arrives Monday.' },
    });

  const writer = s.client({ sub: 'dave', scope: 'inventory:read procurement:write' });
  const scope = await accept(writer, '"v1"');
  t.equal(scope.response.status, 403);
  t.match(scope.error, { type: /insufficient-scope$/ });

  const own = s.client({ sub: 'ap-clerk', scope: 'inventory:read procurement:approve' });
  const self = await accept(own, '"v1"');
  t.equal(self.response.status, 403);
  t.match(self.error, { type: /self-approval$/ });

  t.equal((await accept(approver, '"v7"')).response.status, 412);
  const done = await accept(approver, '"v1"');
  t.equal(done.response.status, 200, JSON.stringify(done.error));
  t.match(done.data, {
    match_status: 'EXCEPTION',
    accepted_by: 'carol',
    accepted_reason: 'Rest arrives Monday.',
    etag: '"v2"',
  });
  const twice = await accept(approver, '"v2"');
  t.equal(twice.response.status, 409);
  t.match(twice.error, { type: /invalid-state$/, current_status: 'ACCEPTED' });
});

t.test('accept: 409 for a MATCHED or VOID invoice', async (t) => {
  const { clerk, approver, po, record, voidIt } = await setup(t);
  await receive(clerk, po, [{ po_line_id: po.lines[0].id, qty_received: 5 }]);
  const matched = ok(await record('INV-1', 2));
  t.equal(matched.match_status, 'MATCHED');
  const accept = (id: string, etag: string) =>
    approver.POST('/procurement/invoices/{id}/accept', {
      params: { path: { id }, header: { 'If-Match': etag, ...ik() } },
      body: { reason: 'ok' },
    });
  const m = await accept(matched.id, matched.etag);
  t.equal(m.response.status, 409);
  t.match(m.error, { current_status: 'MATCHED' });

  const exc = ok(await record('INV-2', 9));
  t.equal((await voidIt(exc.id, exc.etag)).status, 200);
  const v = await accept(exc.id, '"v2"');
  t.equal(v.response.status, 409);
  t.match(v.error, { current_status: 'VOID' });
});
