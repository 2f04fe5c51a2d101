// The event catalogue (docs/events.md): every type of the spec's `webhooks` is emitted by the change
// it names, in that change's transaction, with a payload its schema accepts and the warehouses its
// resource belongs to; reservations expire once, by the sweeper of any instance or lazily.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import type { Sql } from '../db/client.ts';
import { spec } from '../server/spec.ts';
import { ik, ok, seedCatalogue, sentPo } from './helpers/procurement.ts';
import { startServer } from './helpers/server.ts';
import { createItem, createWarehouses, posted, reserve, reverse } from './helpers/stock.ts';
import { schemaValidator, startReceiver, WEBHOOK_TEST_ENV } from './helpers/webhooks.ts';
import { waitFor } from './helpers/wait.ts';

// webhook.test is sent on request to one endpoint, not by a change (test/webhook-replay.test.ts).
const webhookTypes = Object.keys(spec.webhooks).filter((type) => type !== 'webhook.test');
const schemaOf = (type: string): string =>
  spec.webhooks[type].post.requestBody.content['application/json'].schema.$ref.split('/').pop();

/** Types no operation can trigger yet (docs/events.md says so): declared, never sent today. */
const NOT_SENT_YET: Record<string, string> = {};

async function payloads(sql: Sql, type: string): Promise<any[]> {
  const rows = await sql<
    { payload: any }[]
  >`SELECT payload FROM outbox WHERE type = ${type} ORDER BY seq`;
  return rows.map((r) => r.payload);
}

/** Every event fanned out, and every delivery settled. */
async function settled(sql: Sql): Promise<void> {
  await waitFor('every event fanned out and every delivery settled', async () => {
    const [{ n }] = await sql<{ n: number }[]>`
      SELECT ((SELECT count(*) FROM outbox WHERE dispatched_at IS NULL)
            + (SELECT count(*) FROM webhook_deliveries WHERE status = 'PENDING'))::int AS n`;
    return n === 0;
  });
}

const inSoon = (ms: number) => new Date(Date.now() + ms).toISOString();
const IN_AN_HOUR = 3_600_000;

/**
 * Makes reservations due now, as if their expiry had come. They are created an hour ahead: a
 * near expiry could pass before a slow (loaded) request reaches the server, which refuses an
 * expiry in the past.
 */
async function makeDue(sql: Sql, ids: string[]) {
  await sql`UPDATE reservations SET expires_at = now() WHERE id = ANY(${ids}::text[])`;
}

t.test('every type of the catalogue is emitted by its change, as its schema says', async (t) => {
  const s = await startServer(t, { env: { RESERVATION_SWEEP_S: '0.2' } });
  const api = s.client();
  const approver = s.client({ sub: 'bob' });

  // Each case triggers its type through the API; together they cover the spec's webhooks.
  const cases: Record<string, () => Promise<void>> = {
    'inventory.warehouse.created': () => createWarehouses(api, 'WH-A', 'WH-B'),
    'inventory.item.created': async () => {
      await createItem(api, 'bolt');
      await createItem(api, 'glue', 'BATCH');
    },
    'inventory.item.updated': async () => {
      const { data } = await api.GET('/inventory/items/{id}', { params: { path: { id: 'bolt' } } });
      ok(
        await api.PUT('/inventory/items/{id}', {
          params: { path: { id: 'bolt' }, header: { 'If-Match': data!.etag } },
          body: { sku: 'BOLT', name: 'Hex bolt', uom: 'EA', track_by: 'NONE', active: true },
        }),
      );
    },
    'inventory.warehouse.updated': async () => {
      const res = await api.GET('/inventory/warehouses/{id}', { params: { path: { id: 'WH-B' } } });
      ok(
        await api.PUT('/inventory/warehouses/{id}', {
          params: { path: { id: 'WH-B' }, header: { 'If-Match': res.data!.etag! } },
          body: { name: 'North depot', active: true },
        }),
      );
    },
    'inventory.location.created': async () => {
      const bin = ok(
        await api.POST('/inventory/warehouses/{id}/locations', {
          params: { path: { id: 'WH-A' } },
          body: { code: 'A-01-01', pick_order: 10 },
        }),
      );
      const [event] = (await payloads(s.sql, 'inventory.location.created')).slice(-1);
      t.same([event.warehouse_ids, event.data], [['WH-A'], bin], 'a location: of its warehouse');
    },
    'inventory.location.updated': async () => {
      const [bin] = ok(
        await api.GET('/inventory/warehouses/{id}/locations', {
          params: { path: { id: 'WH-A' }, query: { limit: 1 } },
        }),
      ).data;
      const updated = ok(
        await api.PUT('/inventory/locations/{id}', {
          params: { path: { id: bin.id }, header: { 'If-Match': bin.etag } },
          body: { type: 'STORAGE', pick_order: 20, active: true },
        }),
      );
      const [event] = (await payloads(s.sql, 'inventory.location.updated')).slice(-1);
      t.same([event.warehouse_ids, event.data], [['WH-A'], updated]);
    },
    'inventory.putaway_rule.created': async () => {
      const rule = ok(
        await api.POST('/inventory/putaway-rules', {
          body: { warehouse_id: 'WH-A', item_id: 'bolt', location: 'A-01-01' },
        }),
      );
      const [event] = (await payloads(s.sql, 'inventory.putaway_rule.created')).slice(-1);
      t.same(
        [event.warehouse_ids, event.data],
        [['WH-A'], rule],
        'a putaway rule: of its warehouse',
      );
    },
    'inventory.putaway_rule.updated': async () => {
      ok(
        await api.POST('/inventory/putaway-rules', {
          body: { warehouse_id: 'WH-A', item_id: 'bolt', location: 'DEFAULT' },
        }),
      );
    },
    'inventory.putaway_rule.deleted': async () => {
      const [rule] = ok(await api.GET('/inventory/putaway-rules', {})).data;
      const res = await api.DELETE('/inventory/putaway-rules/{id}', {
        params: { path: { id: rule.id } },
      });
      t.equal(res.response.status, 204);
    },
    'procurement.vendor.created': async () => {
      ok(
        await api.POST('/procurement/vendors', {
          body: { id: 'ven_1', name: 'Fasteners', currency: 'EUR' },
        }),
      );
    },
    'procurement.vendor.updated': async () => {
      const res = await api.GET('/procurement/vendors/{id}', { params: { path: { id: 'ven_1' } } });
      ok(
        await api.PUT('/procurement/vendors/{id}', {
          params: { path: { id: 'ven_1' }, header: { 'If-Match': res.data!.etag! } },
          body: { name: 'Fasteners NV', currency: 'EUR', active: true, qty_tolerance: '0.1' },
        }),
      );
    },
    'procurement.vendor_item.created': async () => {
      ok(
        await api.POST('/procurement/vendor-items', {
          params: { header: ik() },
          body: {
            id: 'vi_1',
            vendor_id: 'ven_1',
            item_id: 'bolt',
            lead_time_days: 5,
            currency: 'EUR',
            price_breaks: [{ min_qty: 1, unit_price: '0.50' }],
            preferred: true,
          },
        }),
      );
      const [event] = await payloads(s.sql, 'procurement.vendor_item.created');
      t.same(event.warehouse_ids, [], 'a vendor item is global');
    },
    'procurement.vendor_item.updated': async () => {
      const res = await api.GET('/procurement/vendor-items/{id}', {
        params: { path: { id: 'vi_1' } },
      });
      ok(
        await api.PUT('/procurement/vendor-items/{id}', {
          params: { path: { id: 'vi_1' }, header: { 'If-Match': res.data!.etag } },
          body: {
            lead_time_days: 5,
            currency: 'EUR',
            price_breaks: [{ min_qty: 1, unit_price: '0.50' }],
            preferred: false,
            active: true,
          },
        }),
      );
    },
    'inventory.reorder_rule.created': async () => {
      ok(
        await api.POST('/inventory/reorder-rules', {
          params: { header: ik() },
          body: {
            id: 'ror_1',
            item_id: 'bolt',
            warehouse_id: 'WH-A',
            policy: 'MIN_MAX',
            min_qty: 5,
            max_qty: 50,
          },
        }),
      );
      const [event] = await payloads(s.sql, 'inventory.reorder_rule.created');
      t.same(event.warehouse_ids, ['WH-A'], "a reorder rule is its warehouse's");
    },
    'inventory.reorder_rule.updated': async () => {
      const res = await api.GET('/inventory/reorder-rules/{id}', {
        params: { path: { id: 'ror_1' } },
      });
      ok(
        await api.PUT('/inventory/reorder-rules/{id}', {
          params: { path: { id: 'ror_1' }, header: { 'If-Match': res.data!.etag } },
          body: { policy: 'MIN_MAX', min_qty: 5, max_qty: 60 },
        }),
      );
    },
    'procurement.replenishment_run.created': async () => {
      ok(
        await api.POST('/procurement/replenishment-runs', {
          params: { header: ik() },
          body: { warehouse_id: 'WH-A' },
        }),
      );
      const [event] = await payloads(s.sql, 'procurement.replenishment_run.created');
      t.same(
        [event.warehouse_ids, event.data.suggestion_count],
        [['WH-A'], 1],
        "a run is its warehouse's; nothing on hand: one suggestion",
      );
    },
    'inventory.reorder_rule.deleted': async () => {
      const res = await api.DELETE('/inventory/reorder-rules/{id}', {
        params: { path: { id: 'ror_1' } },
      });
      t.equal(res.response.status, 204);
    },
    'inventory.stock_move.posted': async () => {
      await posted(api, {
        type: 'RECEIPT',
        to_wh: 'WH-A',
        lines: [
          { item_id: 'bolt', qty: 100 },
          { item_id: 'glue', qty: 5, batch: 'B1', expires_at: '2030-01-01T00:00:00.000Z' },
        ],
      });
    },
    'inventory.stock_level.changed': async () => {
      await posted(api, {
        type: 'TRANSFER',
        from_wh: 'WH-A',
        to_wh: 'WH-B',
        lines: [{ item_id: 'bolt', qty: 10 }],
      });
    },
    'inventory.status_change.posted': async () => {
      const change = ok(
        await api.POST('/inventory/status-changes', {
          params: { header: ik() },
          body: {
            warehouse_id: 'WH-A',
            reason: 'Inspection',
            lines: [
              { item_id: 'bolt', qty: 1, from_state: 'unrestricted', to_state: 'quality_control' },
            ],
          },
        }),
      );
      const [event] = (await payloads(s.sql, 'inventory.status_change.posted')).slice(-1);
      t.same(
        [event.warehouse_ids, event.data],
        [['WH-A'], change],
        'a status change: as it was answered, of its warehouse',
      );
      const [level] = (await payloads(s.sql, 'inventory.stock_level.changed')).filter(
        (e) => e.data.cause === change.id,
      );
      t.match(
        level?.data,
        { item_id: 'bolt', warehouse_id: 'WH-A', quality_control: Number, damaged: Number },
        'its level event carries the held figures',
      );
    },
    'inventory.stock_move.reversed': async () => {
      const move = await posted(api, {
        type: 'ISSUE',
        from_wh: 'WH-A',
        lines: [{ item_id: 'bolt', qty: 1 }],
      });
      t.equal((await reverse(api, move.id)).response.status, 201);
    },
    'inventory.reservation.created': async () => {
      ok(await reserve(api, { item_id: 'bolt', warehouse_id: 'WH-A', qty: 2 }));
    },
    'inventory.reservation.released': async () => {
      const r = ok(await reserve(api, { item_id: 'bolt', warehouse_id: 'WH-A', qty: 2 }));
      ok(
        await api.POST('/inventory/reservations/{id}/release', {
          params: { path: { id: r.id }, header: ik() },
        }),
      );
    },
    'inventory.reservation.consumed': async () => {
      const r = ok(await reserve(api, { item_id: 'bolt', warehouse_id: 'WH-A', qty: 3 }));
      await posted(api, {
        type: 'ISSUE',
        from_wh: 'WH-A',
        lines: [{ item_id: 'bolt', qty: 3, reservation_id: r.id }],
      });
    },
    'inventory.reservation.expired': async () => {
      const r = ok(
        await reserve(api, {
          item_id: 'bolt',
          warehouse_id: 'WH-B',
          qty: 1,
          expires_at: inSoon(IN_AN_HOUR),
        }),
      );
      await makeDue(s.sql, [r.id]);
      await waitFor(
        'the sweeper expires it',
        async () => (await payloads(s.sql, 'inventory.reservation.expired')).length > 0,
      );
    },
    'procurement.requisition.created': async () => {
      ok(
        await api.POST('/procurement/requisitions', {
          params: { header: ik() },
          body: {
            lines: [
              {
                item_id: 'bolt',
                qty: 5,
                vendor_id: 'ven_1',
                unit_price: '1.00',
                warehouse_id: 'WH-A',
              },
            ],
          },
        }),
      );
    },
    'procurement.requisition.updated': async () => {
      const { data } = await api.GET('/procurement/requisitions', {});
      const req = data!.data[0];
      ok(
        await api.PUT('/procurement/requisitions/{id}', {
          params: { path: { id: req.id }, header: { 'If-Match': req.etag } },
          body: {
            lines: [
              {
                item_id: 'bolt',
                qty: 6,
                vendor_id: 'ven_1',
                unit_price: '1.00',
                warehouse_id: 'WH-A',
              },
            ],
          },
        }),
      );
      const shown = ok(
        await api.GET('/procurement/requisitions/{id}', { params: { path: { id: req.id } } }),
      );
      const [event] = (await payloads(s.sql, 'procurement.requisition.updated')).slice(-1);
      t.same(
        [event.warehouse_ids, event.data],
        [['WH-A'], shown],
        "a replaced requisition: as its GET shows it, of its lines' warehouses",
      );
    },
    'procurement.requisition.approved': async () => {
      const { data } = await api.GET('/procurement/requisitions', {});
      const req = data!.data[0];
      ok(
        await approver.POST('/procurement/requisitions/{id}/approve', {
          params: { path: { id: req.id }, header: { ...ik(), 'If-Match': req.etag } },
        }),
      );
    },
    'procurement.requisition.ordered': async () => {
      const { data } = await api.GET('/procurement/requisitions', {});
      const req = data!.data[0];
      ok(
        await api.POST('/procurement/requisitions/{id}/convert', {
          params: { path: { id: req.id }, header: { ...ik(), 'If-Match': req.etag } },
          body: {},
        }),
      );
    },
    'procurement.purchase_order.created': async () => {
      ok(
        await api.POST('/procurement/purchase-orders', {
          params: { header: ik() },
          body: {
            vendor_id: 'ven_1',
            ship_to_warehouse_id: 'WH-A',
            lines: [{ item_id: 'bolt', qty: 10, unit_price: '0.50' }],
          },
        }),
      );
    },
    'procurement.purchase_order.updated': async () => {
      const po = await newestOrder();
      ok(
        await api.PUT('/procurement/purchase-orders/{id}', {
          params: { path: { id: po.id }, header: { 'If-Match': po.etag } },
          body: {
            vendor_id: 'ven_1',
            currency: 'EUR',
            ship_to_warehouse_id: 'WH-A',
            lines: [{ item_id: 'bolt', qty: 10, unit_price: '0.50' }],
          },
        }),
      );
    },
    'procurement.purchase_order.approved': async () => {
      const po = await newestOrder();
      ok(
        await approver.POST('/procurement/purchase-orders/{id}/approve', {
          params: { path: { id: po.id }, header: { ...ik(), 'If-Match': po.etag } },
        }),
      );
    },
    'procurement.purchase_order.sent': async () => {
      const po = await newestOrder();
      ok(
        await api.POST('/procurement/purchase-orders/{id}/send', {
          params: { path: { id: po.id }, header: { ...ik(), 'If-Match': po.etag } },
        }),
      );
    },
    'procurement.purchase_order.revised': async () => {
      const po = await newestOrder();
      ok(
        await api.POST('/procurement/purchase-orders/{id}/revisions', {
          params: { path: { id: po.id }, header: { ...ik(), 'If-Match': po.etag } },
          body: {
            reason: 'The vendor confirmed 12.',
            lines: [{ id: po.lines[0].id, item_id: 'bolt', qty: 12, unit_price: '0.50' }],
          },
        }),
      );
      const [event] = (await payloads(s.sql, 'procurement.purchase_order.revised')).slice(-1);
      t.same(
        [event.warehouse_ids, event.data.purchase_order.revision, event.data.revision.revision],
        [['WH-A'], 2, 2],
        "a revision: the order and its history entry, of the order's warehouse",
      );
    },
    'procurement.receipt.created': async () => {
      const po = await newestOrder();
      ok(
        await api.POST('/procurement/receipts', {
          params: { header: ik() },
          body: {
            po_id: po.id,
            warehouse_id: 'WH-A',
            draft: true,
            lines: [{ po_line_id: po.lines[0].id, qty_received: 4 }],
          },
        }),
      );
    },
    'procurement.receipt.updated': async () => {
      const { data } = await api.GET('/procurement/receipts', {
        params: { query: { status: 'PENDING' } },
      });
      const draft = data!.data[0];
      ok(
        await api.PUT('/procurement/receipts/{id}', {
          params: { path: { id: draft.id }, header: { 'If-Match': draft.etag } },
          body: {
            warehouse_id: 'WH-A',
            lines: [{ po_line_id: draft.lines[0].po_line_id, qty_received: 3 }],
          },
        }),
      );
      const shown = ok(
        await api.GET('/procurement/receipts/{id}', { params: { path: { id: draft.id } } }),
      );
      const [event] = (await payloads(s.sql, 'procurement.receipt.updated')).slice(-1);
      t.same(
        [event.warehouse_ids, event.data],
        [['WH-A'], shown],
        "a replaced receipt: as its GET shows it (a WH-A order's match included), of its warehouse",
      );
    },
    'inventory.receipt.posted': async () => {
      const po = await newestOrder();
      ok(
        await api.POST('/procurement/receipts', {
          params: { header: ik() },
          body: {
            po_id: po.id,
            warehouse_id: 'WH-A',
            lines: [{ po_line_id: po.lines[0].id, qty_received: 6 }],
          },
        }),
      );
    },
    'procurement.purchase_order.received': async () => {
      t.ok(
        (await payloads(s.sql, 'procurement.purchase_order.received')).length,
        'sent with the posted receipt',
      );
    },
    'procurement.receipt.reversed': async () => {
      const po = await newestOrder();
      const receipt = ok(
        await api.POST('/procurement/receipts', {
          params: { header: ik() },
          body: {
            po_id: po.id,
            warehouse_id: 'WH-A',
            lines: [{ po_line_id: po.lines[0].id, qty_received: 1 }],
          },
        }),
      );
      ok(
        await api.POST('/procurement/receipts/{id}/reverse', {
          params: { path: { id: receipt.id }, header: { ...ik(), 'If-Match': receipt.etag } },
          body: { reason: 'Delivered twice' },
        }),
      );
      const shown = ok(
        await api.GET('/procurement/receipts/{id}', { params: { path: { id: receipt.id } } }),
      );
      const [event] = (await payloads(s.sql, 'procurement.receipt.reversed')).slice(-1);
      t.same(
        [event.warehouse_ids, event.data],
        [['WH-A'], shown],
        'a reversed receipt: as its GET shows it, of its warehouse',
      );
      t.ok(shown.reversed_at && shown.reversed_by_move, 'it shows its reversal');
    },
    'procurement.invoice.recorded': async () => {
      const po = await newestOrder();
      ok(
        await api.POST('/procurement/invoices', {
          params: { header: ik() },
          body: {
            po_id: po.id,
            number: 'INV-1',
            lines: [{ po_line_id: po.lines[0].id, qty: 6, unit_price: '0.50' }],
          },
        }),
      );
    },
    'procurement.invoice.exception': async () => {
      const po = await newestOrder();
      ok(
        await api.POST('/procurement/invoices', {
          params: { header: ik() },
          body: {
            po_id: po.id,
            number: 'INV-2',
            lines: [{ po_line_id: po.lines[0].id, qty: 1, unit_price: '9.99' }],
          },
        }),
      );
    },
    'procurement.invoice.accepted': async () => {
      const po = await newestOrder();
      const inv = ok(
        await api.GET('/procurement/invoices', { params: { query: { po_id: po.id } } }),
      ).data.find((i) => i.number === 'INV-2')!;
      // Whoever recorded the exception may not accept it.
      const approver = s.client({ sub: 'catalogue-approver' });
      ok(
        await approver.POST('/procurement/invoices/{id}/accept', {
          params: { path: { id: inv.id }, header: { ...ik(), 'If-Match': inv.etag } },
          body: { reason: 'Agreed with the vendor.' },
        }),
      );
    },
    'procurement.invoice.voided': async () => {
      const po = await newestOrder();
      const inv = ok(
        await api.GET('/procurement/invoices', { params: { query: { po_id: po.id } } }),
      ).data.find((i) => i.number === 'INV-2')!;
      ok(
        await api.POST('/procurement/invoices/{id}/void', {
          params: { path: { id: inv.id }, header: { ...ik(), 'If-Match': inv.etag } },
        }),
      );
    },
    'procurement.vendor_return.posted': async () => {
      const po = await newestOrder();
      const returned = ok(
        await api.POST('/procurement/vendor-returns', {
          params: { header: ik() },
          body: {
            po_id: po.id,
            warehouse_id: 'WH-A',
            reason: 'Damaged in transit',
            lines: [{ po_line_id: po.lines[0].id, qty: 1 }],
          },
        }),
      );
      const [event] = (await payloads(s.sql, 'procurement.vendor_return.posted')).slice(-1);
      t.same(
        [event.warehouse_ids, event.data],
        [['WH-A'], returned],
        'a vendor return: as it was answered, of its warehouse',
      );
    },
    'procurement.purchase_order.closed': async () => {
      const po = await newestOrder();
      ok(
        await api.POST('/procurement/purchase-orders/{id}/close', {
          params: { path: { id: po.id }, header: { ...ik(), 'If-Match': po.etag } },
        }),
      );
    },
  };
  async function newestOrder() {
    const { data } = await api.GET('/procurement/purchase-orders', {
      params: { query: { vendor_id: 'ven_1' } },
    });
    return data!.data.find((p) => p.requisition_id === undefined)!;
  }

  t.same(
    webhookTypes.filter((type) => !(type in cases) && !(type in NOT_SENT_YET)),
    [],
    'every type of the spec has a case (or is declared as not sent yet)',
  );
  t.same(
    Object.keys(cases).filter((type) => !webhookTypes.includes(type)),
    [],
    'and no case is of a type the spec lacks',
  );

  for (const [type, trigger] of Object.entries(cases)) {
    await trigger();
    const events = await payloads(s.sql, type);
    t.ok(events.length > 0, `${type}: emitted`);
    const validate = schemaValidator(schemaOf(type));
    for (const event of events) t.equal(validate(event), null, `${type}: valid ${schemaOf(type)}`);
  }
  for (const type of Object.keys(NOT_SENT_YET))
    t.same(await payloads(s.sql, type), [], `${type}: never sent yet`);

  // warehouse_ids, by each resource's rule; global resources carry none.
  const [wh] = await payloads(s.sql, 'inventory.warehouse.created');
  t.same(
    wh.warehouse_ids,
    [wh.data.id],
    'a warehouse is its own: only tokens of that warehouse see it',
  );
  const [whUpdated] = await payloads(s.sql, 'inventory.warehouse.updated');
  t.same([whUpdated.warehouse_ids, whUpdated.data.name], [['WH-B'], 'North depot']);
  const [vendorUpdated] = await payloads(s.sql, 'procurement.vendor.updated');
  t.same(
    [vendorUpdated.warehouse_ids, vendorUpdated.data.qty_tolerance],
    [[], '0.1'],
    'a vendor is global',
  );
  const transfer = (await payloads(s.sql, 'inventory.stock_level.changed')).filter(
    (e) => e.data.item_id === 'bolt' && e.data.cause.startsWith('sm_'),
  );
  t.ok(
    transfer.some((e) => e.warehouse_ids[0] === 'WH-B' && e.data.warehouse_id === 'WH-B'),
    "a level event is its warehouse's",
  );
  const { data: levels } = await api.GET('/inventory/stock-levels', {});
  const glue = levels!.data.find((l) => l.item_id === 'glue')!;
  const glueEvents = (await payloads(s.sql, 'inventory.stock_level.changed')).filter(
    (e) => e.data.item_id === 'glue',
  );
  const { cause: _, ...glueData } = glueEvents[glueEvents.length - 1].data;
  t.same(glueData, glue, 'a level event shows the level as the list does, batches included');
  const [req] = await payloads(s.sql, 'procurement.requisition.created');
  t.same(req.warehouse_ids, ['WH-A'], "a requisition: its lines' warehouses");
  const [inv] = await payloads(s.sql, 'procurement.invoice.exception');
  t.same(
    [inv.warehouse_ids, inv.data.match_status],
    [['WH-A'], 'EXCEPTION'],
    "an invoice: its order's warehouse",
  );
});

t.test(
  "a restricted token's endpoint receives the procurement events of its warehouses only",
  async (t) => {
    const s = await startServer(t, { env: WEBHOOK_TEST_ENV });
    const api = s.client();
    await createWarehouses(api, 'WH-A', 'WH-B');
    await createItem(api, 'bolt');
    ok(
      await api.POST('/procurement/vendors', { body: { id: 'ven_1', name: 'V', currency: 'EUR' } }),
    );
    // Events of the setup are fanned out before the endpoint exists: it gets none of them.
    await settled(s.sql);
    const receiver = await startReceiver(t);
    const types = ['procurement.purchase_order.created', 'procurement.vendor.created'] as const;
    const endpoint = ok(
      await s
        .client({ warehouses: ['WH-A'] })
        .POST('/webhooks/endpoints', { body: { url: receiver.url, events: [...types] } }),
    );
    t.same(endpoint.warehouses, ['WH-A']);
    const order = (ship_to_warehouse_id?: string) =>
      api.POST('/procurement/purchase-orders', {
        params: { header: ik() },
        body: {
          vendor_id: 'ven_1',
          ...(ship_to_warehouse_id && { ship_to_warehouse_id }),
          lines: [{ item_id: 'bolt', qty: 1, unit_price: '1.00' }],
        },
      });
    const a = ok(await order('WH-A'));
    ok(await order('WH-B'));
    ok(await order());
    ok(
      await api.POST('/procurement/vendors', { body: { id: 'ven_2', name: 'W', currency: 'EUR' } }),
    );
    await settled(s.sql);
    const got = receiver.acknowledged().map((r) => JSON.parse(r.body));
    t.same(
      got.map((e) => [e.type, e.data.id]).sort(),
      [
        ['procurement.purchase_order.created', a.id],
        ['procurement.vendor.created', 'ven_2'],
      ],
      "its warehouse's order and the (global) vendor; neither WH-B's nor the unassigned order",
    );
  },
);

t.test('a due reservation expires once with two instances sweeping, and once lazily', async (t) => {
  const first = await startServer(t, { env: { RESERVATION_SWEEP_S: '0.05' } });
  const second = await startServer(t, {
    databaseUrl: first.databaseUrl,
    env: { RESERVATION_SWEEP_S: '0.05' },
  });
  const api = first.client();
  await createWarehouses(api, 'WH-A');
  await createItem(api, 'bolt');
  await posted(api, { type: 'RECEIPT', to_wh: 'WH-A', lines: [{ item_id: 'bolt', qty: 50 }] });
  const ids: string[] = [];
  for (let i = 0; i < 6; i++)
    ids.push(
      ok(
        await reserve(second.client(), {
          item_id: 'bolt',
          warehouse_id: 'WH-A',
          qty: 1,
          expires_at: inSoon(IN_AN_HOUR),
        }),
      ).id,
    );
  await makeDue(first.sql, ids);
  await waitFor(
    'all expired',
    async () => (await payloads(first.sql, 'inventory.reservation.expired')).length >= 6,
  );
  await new Promise((r) => setTimeout(r, 300));
  const expired = await payloads(first.sql, 'inventory.reservation.expired');
  t.same(
    expired.map((e) => e.data.id).sort(),
    [...ids].sort(),
    'each reservation expired exactly once',
  );
  const causes = (await payloads(first.sql, 'inventory.stock_level.changed')).filter(
    (e) => e.data.cause.startsWith('res_') && ids.includes(e.data.cause),
  );
  // Each reservation: the level event of its creation, and of its expiry.
  t.same(
    causes.map((e) => e.data.cause).sort(),
    [...ids, ...ids].sort(),
    'one level event per creation and per expiry',
  );
  const last = causes[causes.length - 1].data;
  t.same([last.reserved, last.available], [0, 50], 'the last shows everything given back');

  // Lazily: no sweeper; the next write of the level expires it, with the same events.
  const lazy = await startServer(t, { env: { RESERVATION_SWEEP_S: '0' } });
  const l = lazy.client();
  await createWarehouses(l, 'WH-A');
  await createItem(l, 'bolt');
  await posted(l, { type: 'RECEIPT', to_wh: 'WH-A', lines: [{ item_id: 'bolt', qty: 5 }] });
  const r = ok(
    await reserve(l, {
      item_id: 'bolt',
      warehouse_id: 'WH-A',
      qty: 2,
      expires_at: inSoon(IN_AN_HOUR),
    }),
  );
  await makeDue(lazy.sql, [r.id]);
  await new Promise((res) => setTimeout(res, 200));
  t.same(await payloads(lazy.sql, 'inventory.reservation.expired'), [], 'nothing sweeps it');
  const move = await posted(l, {
    type: 'ISSUE',
    from_wh: 'WH-A',
    lines: [{ item_id: 'bolt', qty: 5 }],
  });
  await posted(l, { type: 'RECEIPT', to_wh: 'WH-A', lines: [{ item_id: 'bolt', qty: 1 }] });
  const lazyExpired = await payloads(lazy.sql, 'inventory.reservation.expired');
  t.same(
    lazyExpired.map((e) => e.data.id),
    [r.id],
    'expired once, by the posting that needed its stock',
  );
  const levelEvents = (await payloads(lazy.sql, 'inventory.stock_level.changed')).map((e) => [
    e.data.cause,
    e.data.on_hand,
    e.data.reserved,
  ]);
  t.same(
    levelEvents.slice(-3),
    [
      [r.id, 5, 0],
      [move.id, 0, 0],
      [levelEvents[levelEvents.length - 1][0], 1, 0],
    ],
    "its level event comes before the move's",
  );
});

t.test(
  'replacing a receipt or requisition that moves tells the warehouse it left; a refused replacement emits nothing',
  async (t) => {
    const s = await startServer(t);
    const api = s.client();
    await seedCatalogue(api);
    const updates = async () => ({
      receipt: await payloads(s.sql, 'procurement.receipt.updated'),
      requisition: await payloads(s.sql, 'procurement.requisition.updated'),
    });
    // A follower of WH-A only: it must still learn that the document went to WH-B.
    const whA = { warehouses: ['WH-A'] };
    const seenByWhA = async (id: string) =>
      (await s.request(`/events/${id}`, { token: whA })).status;

    // A receipt against an unassigned order may go to any warehouse while PENDING.
    const po = await sentPo(api);
    const lines = [{ po_line_id: po.lines[0].id, qty_received: 2 }];
    const draft = ok(
      await api.POST('/procurement/receipts', {
        params: { header: ik() },
        body: { po_id: po.id, warehouse_id: 'WH-A', draft: true, lines },
      }),
    );
    const moved = ok(
      await api.PUT('/procurement/receipts/{id}', {
        params: { path: { id: draft.id }, header: { 'If-Match': draft.etag } },
        body: { warehouse_id: 'WH-B', lines },
      }),
    );
    const [receipt] = (await updates()).receipt;
    t.equal(schemaValidator('ReceiptUpdatedEvent')(receipt), null, 'a valid ReceiptUpdatedEvent');
    t.same(receipt.warehouse_ids, ['WH-A', 'WH-B'], 'the warehouse it left and the one it is in');
    const { match: _, ...withoutMatch } = ok(
      await api.GET('/procurement/receipts/{id}', { params: { path: { id: draft.id } } }),
    );
    t.same(
      receipt.data,
      withoutMatch,
      "as its GET shows it, built for WH-A's and WH-B's readers: without the unassigned order's match",
    );
    t.equal(await seenByWhA(receipt.id), 200, "WH-A's follower gets it");

    // A requisition whose only line goes from WH-A to WH-B.
    const req = ok(
      await api.POST('/procurement/requisitions', {
        params: { header: ik() },
        body: { lines: [{ item_id: 'bolt', qty: 1, warehouse_id: 'WH-A' }] },
      }),
    );
    const replaced = ok(
      await api.PUT('/procurement/requisitions/{id}', {
        params: { path: { id: req.id }, header: { 'If-Match': req.etag } },
        body: { lines: [{ item_id: 'bolt', qty: 1, warehouse_id: 'WH-B' }] },
      }),
    );
    const [requisition] = (await updates()).requisition;
    t.equal(
      schemaValidator('RequisitionUpdatedEvent')(requisition),
      null,
      'a valid RequisitionUpdatedEvent',
    );
    t.same(requisition.warehouse_ids, ['WH-A', 'WH-B'], 'the warehouses its lines named and name');
    t.same(
      requisition.data,
      ok(await api.GET('/procurement/requisitions/{id}', { params: { path: { id: req.id } } })),
      'as its GET shows it',
    );
    t.equal(await seenByWhA(requisition.id), 200, "WH-A's follower gets it");

    // Refused: a stale If-Match (412), then no longer PENDING or DRAFT (409).
    const emitted = await updates();
    const putReceipt = (etag: string) =>
      api.PUT('/procurement/receipts/{id}', {
        params: { path: { id: draft.id }, header: { 'If-Match': etag } },
        body: { warehouse_id: 'WH-A', lines },
      });
    const putRequisition = (etag: string) =>
      api.PUT('/procurement/requisitions/{id}', {
        params: { path: { id: req.id }, header: { 'If-Match': etag } },
        body: { lines: [{ item_id: 'bolt', qty: 1, warehouse_id: 'WH-A' }] },
      });
    t.equal((await putReceipt(draft.etag)).response.status, 412);
    t.equal((await putRequisition(req.etag)).response.status, 412);
    const posted = ok(
      await api.POST('/procurement/receipts/{id}/post', {
        params: { path: { id: draft.id }, header: { ...ik(), 'If-Match': moved.etag } },
      }),
    );
    const approved = ok(
      await s.client({ sub: 'bob' }).POST('/procurement/requisitions/{id}/approve', {
        params: { path: { id: req.id }, header: { ...ik(), 'If-Match': replaced.etag } },
      }),
    );
    t.equal((await putReceipt(posted.etag)).response.status, 409);
    t.equal((await putRequisition(approved.etag)).response.status, 409);
    t.same(await updates(), emitted, 'no event for a refused replacement');
  },
);

t.test('a refused or rolled-back request emits nothing', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  await createWarehouses(api, 'WH-A');
  await createItem(api, 'bolt');
  const [{ n: before }] = await s.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM outbox`;
  const over = await api.POST('/inventory/stock-moves', {
    params: { header: { 'Idempotency-Key': randomUUID() } },
    body: { type: 'ISSUE', from_wh: 'WH-A', lines: [{ item_id: 'bolt', qty: 1 }] },
  });
  t.equal(over.response.status, 409);
  const res = await reserve(api, { item_id: 'bolt', warehouse_id: 'WH-A', qty: 1 });
  t.equal(res.response.status, 409);
  const dup = await api.POST('/inventory/items', {
    body: { id: 'bolt', sku: 'OTHER', name: 'x', uom: 'EA', track_by: 'NONE' },
  });
  t.equal(dup.response.status, 409);
  const [{ n: after }] = await s.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM outbox`;
  t.equal(after, before, 'no event');
});
