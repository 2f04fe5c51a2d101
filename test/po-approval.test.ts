// Sending an order above its currency's approval threshold needs an approval by someone other
// than its creator, and any change clears it.
import t from 'tap';
import { loadConfig } from '../server/config.ts';
import { createPo, ik, ok, seedCatalogue, sendPo } from './helpers/procurement.ts';
import { startServer } from './helpers/server.ts';
import type { ApiClient } from '../generated/client.ts';

const approve = (api: ApiClient, po: { id: string; etag: string }, key = ik()) =>
  api.POST('/procurement/purchase-orders/{id}/approve', {
    params: { path: { id: po.id }, header: { ...key, 'If-Match': po.etag } },
  });
const send = (api: ApiClient, po: { id: string; etag: string }) =>
  api.POST('/procurement/purchase-orders/{id}/send', {
    params: { path: { id: po.id }, header: { ...ik(), 'If-Match': po.etag } },
  });

// 2000 × 0.50 = 1000.00 is not above EUR:1000; 2001 × 0.50 is.
const BIG = { lines: [{ item_id: 'bolt', qty: 2001, unit_price: '0.50' }] };

t.test('approval above the threshold', async (t) => {
  const s = await startServer(t, { env: { PO_APPROVAL_THRESHOLDS: 'EUR:1000,JPY:150000' } });
  const api = s.client({ sub: 'alice' });
  const bob = s.client({ sub: 'bob' });
  await seedCatalogue(api);

  t.test('over the threshold: send needs approval, not by the creator', async (t) => {
    const po = await createPo(api, BIG);
    const refused = await send(api, po);
    t.equal(refused.response.status, 409);
    t.match(refused.error, { type: /approval-required$/, detail: /1000\.50 EUR.*1000 EUR/ });

    const own = await approve(api, po);
    t.equal(own.response.status, 403);
    t.match(own.error, { type: /self-approval$/ });

    const writer = s.client({ sub: 'carol', scope: 'procurement:write inventory:read' });
    const scopeless = await approve(writer, po);
    t.equal(scopeless.response.status, 403);
    t.match(scopeless.error, { type: /insufficient-scope$/ });

    const key = ik();
    const approved = ok(await approve(bob, po, key));
    t.equal(approved.approved_by, 'bob');
    t.ok(approved.approved_at);
    t.equal(approved.status, 'DRAFT');
    const replay = await approve(bob, po, key);
    t.equal(replay.response.status, 200, 'a replayed key answers as the first time');
    t.equal(replay.response.headers.get('idempotent-replayed'), 'true');
    t.equal(replay.data?.etag, approved.etag);

    const again = await approve(bob, approved);
    t.equal(again.response.status, 409);
    t.match(again.error, { type: /invalid-state$/ });

    const [audit] =
      await s.sql`SELECT action FROM audit_log WHERE entity_id = ${po.id} AND action = 'purchase_order.approved'`;
    t.ok(audit, 'audited');
    const [event] =
      await s.sql`SELECT type FROM outbox WHERE type = 'procurement.purchase_order.approved' AND payload->'data'->>'id' = ${po.id}`;
    t.ok(event, 'event emitted');

    const sent = await sendPo(api, approved);
    t.equal(sent.status, 'SENT');
    const late = await approve(bob, sent);
    t.equal(late.response.status, 409, 'a SENT order already approved is not approved again');
  });

  t.test('a change clears the approval', async (t) => {
    const po = await createPo(api, BIG);
    const approved = ok(await approve(bob, po));
    const changed = ok(
      await api.PUT('/procurement/purchase-orders/{id}', {
        params: { path: { id: po.id }, header: { 'If-Match': approved.etag } },
        body: { vendor_id: 'ven_fast', currency: 'EUR', lines: BIG.lines },
      }),
    );
    t.equal(changed.approved_by, undefined);
    t.equal(changed.approved_at, undefined);
    const refused = await send(api, changed);
    t.equal(refused.response.status, 409);
    t.match(refused.error, { type: /approval-required$/ });
  });

  t.test('at or under the threshold, or an unlisted currency: no approval needed', async (t) => {
    const atThreshold = await createPo(api, {
      lines: [{ item_id: 'bolt', qty: 2000, unit_price: '0.50' }],
    });
    t.equal((await sendPo(api, atThreshold)).status, 'SENT');
    const usd = await createPo(api, { vendor_id: 'ven_tools', ...BIG });
    t.equal((await sendPo(api, usd)).status, 'SENT');
    const small = await createPo(api);
    const approved = ok(await approve(bob, small));
    t.equal(approved.approved_by, 'bob', 'approving under the threshold is recorded');
  });

  t.test('two approvals with the same ETag: exactly one wins', async (t) => {
    const po = await createPo(api, BIG);
    const carol = s.client({ sub: 'carol' });
    const results = await Promise.all([approve(bob, po), approve(carol, po)]);
    const statuses = results.map((r) => r.response.status).sort();
    t.strictSame(statuses, [200, 412]);
  });
});

t.test('a bad PO_APPROVAL_THRESHOLDS is refused at start', async (t) => {
  for (const value of ['EUR', 'EUR:abc', 'eur:10', 'EUR:10,EUR:20', 'EUR:-1', 'EUR:1e3'])
    t.throws(() => loadConfig({ PO_APPROVAL_THRESHOLDS: value }), /PO_APPROVAL_THRESHOLDS/, value);
  t.strictSame(loadConfig({ PO_APPROVAL_THRESHOLDS: '' }).poApprovalThresholds, {});
  t.strictSame(loadConfig({}).poApprovalThresholds, {});
  t.strictSame(
    loadConfig({ PO_APPROVAL_THRESHOLDS: 'EUR:1000, JPY:150000' }).poApprovalThresholds,
    {
      EUR: '1000',
      JPY: '150000',
    },
  );
});
