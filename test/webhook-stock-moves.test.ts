// End to end through the API: stock moves posted with POST /inventory/stock-moves (and a reversal)
// reach every subscribed endpoint once, signed, as the spec's StockMovePostedEvent, with the very
// move the API answered; a refused posting sends nothing.
import t from 'tap';
import { startServer } from './helpers/server.ts';
import { createItem, createWarehouses, postMove, posted, reverse } from './helpers/stock.ts';
import {
  schemaValidator,
  signersOf,
  startReceiver,
  subscribe,
  WEBHOOK_TEST_ENV,
} from './helpers/webhooks.ts';
import { waitFor } from './helpers/wait.ts';

t.test(
  'posted stock moves arrive once per subscribed endpoint, signed and as the spec says',
  async (t) => {
    const s = await startServer(t, { env: WEBHOOK_TEST_ENV });
    const api = s.client();
    const [erp, audit, receiptsOnly] = await Promise.all([
      startReceiver(t),
      startReceiver(t),
      startReceiver(t),
    ]);
    const endpoints = [
      await subscribe(s.url, erp, ['inventory.stock_move.posted', 'inventory.receipt.posted']),
      await subscribe(s.url, audit, ['inventory.stock_move.posted']),
    ];
    await subscribe(s.url, receiptsOnly, ['inventory.receipt.posted']);
    await createWarehouses(api, 'WH-A', 'WH-B');
    await createItem(api, 'sku-1');

    const receipt = await posted(api, {
      type: 'RECEIPT',
      to_wh: 'WH-A',
      lines: [{ item_id: 'sku-1', qty: 40 }],
    });
    const transfer = await posted(api, {
      type: 'TRANSFER',
      from_wh: 'WH-A',
      to_wh: 'WH-B',
      lines: [{ item_id: 'sku-1', qty: 10 }],
    });
    const refused = await postMove(api, {
      type: 'ISSUE',
      from_wh: 'WH-B',
      lines: [{ item_id: 'sku-1', qty: 11 }],
    });
    t.equal(refused.response.status, 409, 'over-issuance: nothing posted');
    const reversal = await reverse(api, transfer.id);
    t.equal(reversal.response.status, 201);
    const moves = [receipt, transfer, reversal.data!];

    await waitFor(
      'three events at both subscribers',
      () => erp.received.length >= 3 && audit.received.length >= 3,
    );
    await new Promise((r) => setTimeout(r, 300)); // room for a duplicate or a stray event to show up
    const validate = schemaValidator('StockMovePostedEvent');
    for (const [receiver, endpoint] of [
      [erp, endpoints[0]],
      [audit, endpoints[1]],
    ] as const) {
      t.equal(receiver.received.length, 3, 'once each, nothing for the refused posting');
      const events = receiver.received.map((r) => {
        t.same(
          signersOf(r, [endpoint.secret]),
          [endpoint.secret],
          'signature verifies with the endpoint secret',
        );
        return JSON.parse(r.body);
      });
      for (const event of events) t.equal(validate(event), null, 'a valid StockMovePostedEvent');
      t.same(
        events.map((e) => e.data).sort((a, b) => a.id.localeCompare(b.id)),
        [...moves].sort((a, b) => a.id.localeCompare(b.id)),
        'the data is the move the API answered (the reversal included)',
      );
      t.same(
        receiver.received.map((r) => r.headers['webhook-id']),
        events.map((e) => e.id),
      );
    }
    t.equal(receiptsOnly.received.length, 0, 'not subscribed to stock moves');
  },
);
