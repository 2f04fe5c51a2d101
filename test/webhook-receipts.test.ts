// End to end through the procurement API: a posted receipt (at creation, or a draft through /post)
// reaches each endpoint subscribed to inventory.receipt.posted once, signed, as the spec's
// ReceiptPostedEvent with the receipt the API answered; the stock move it posts reaches the
// stock-move subscribers; drafts and refused receipts send nothing.
import t from 'tap';
import { startServer } from './helpers/server.ts';
import { createPo, ik, ok, receive, seedCatalogue, sendPo } from './helpers/procurement.ts';
import {
  acknowledgedIds,
  schemaValidator,
  signersOf,
  startReceiver,
  subscribe,
  WEBHOOK_TEST_ENV,
} from './helpers/webhooks.ts';
import { waitFor } from './helpers/wait.ts';

t.test(
  'posted receipts arrive once per subscribed endpoint, signed and as the spec says',
  async (t) => {
    const s = await startServer(t, { env: WEBHOOK_TEST_ENV });
    const api = s.client();
    const [receipts, moves] = await Promise.all([startReceiver(t), startReceiver(t)]);
    const receiptsEndpoint = await subscribe(s.url, receipts, ['inventory.receipt.posted']);
    await subscribe(s.url, moves, ['inventory.stock_move.posted']);
    await seedCatalogue(api);
    // Shipping to WH-A, where it is received: the event then carries the order's match, as the
    // API's answer does (an unassigned order's is left out of events, docs/standards.md §3).
    const po = await sendPo(
      api,
      await createPo(api, {
        ship_to_warehouse_id: 'WH-A',
        lines: [{ item_id: 'bolt', qty: 10, unit_price: '0.50' }],
      }),
    );
    const poLine = po.lines[0].id;

    const posted = await receive(api, po, [{ po_line_id: poLine, qty_received: 4 }]);
    const draft = ok(
      await api.POST('/procurement/receipts', {
        params: { header: ik() },
        body: {
          po_id: po.id,
          warehouse_id: 'WH-A',
          draft: true,
          lines: [{ po_line_id: poLine, qty_received: 3 }],
        },
      }),
    );
    const over = await api.POST('/procurement/receipts', {
      params: { header: ik() },
      body: {
        po_id: po.id,
        warehouse_id: 'WH-A',
        lines: [{ po_line_id: poLine, qty_received: 7 }],
      },
    });
    t.equal(over.response.status, 409, 'over-receipt: nothing posted');
    await new Promise((r) => setTimeout(r, 300));
    t.equal(receipts.received.length, 1, 'a draft sends nothing');
    const postedLater = ok(
      await api.POST('/procurement/receipts/{id}/post', {
        params: { path: { id: draft.id }, header: { ...ik(), 'If-Match': draft.etag } },
      }),
    );

    await waitFor(
      'both receipts and both moves',
      () => receipts.received.length >= 2 && moves.received.length >= 2,
    );
    await new Promise((r) => setTimeout(r, 300)); // room for a duplicate to show up
    const validate = schemaValidator('ReceiptPostedEvent');
    t.equal(receipts.received.length, 2, 'once each');
    const events = receipts.received.map((r) => {
      t.same(
        signersOf(r, [receiptsEndpoint.secret]),
        [receiptsEndpoint.secret],
        'signature verifies',
      );
      return JSON.parse(r.body);
    });
    for (const event of events) t.equal(validate(event), null, 'a valid ReceiptPostedEvent');
    // The first was delivered before the draft was posted, so the order is known.
    t.same(
      events.map((e) => e.data),
      [posted, postedLater],
      'the data is the receipt the API answered',
    );
    t.equal(moves.received.length, 2);
    t.same(
      moves.received.map((r) => JSON.parse(r.body).data.id).sort(),
      [posted.stock_move_id, postedLater.stock_move_id].sort(),
      "and each receipt's stock move went to the stock-move subscriber",
    );
    t.equal(
      new Set([...acknowledgedIds(receipts), ...acknowledgedIds(moves)]).size,
      4,
      'four distinct events',
    );
  },
);
