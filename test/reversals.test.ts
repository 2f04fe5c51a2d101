// Reversals post the opposite move and link both; the ledger itself can never be edited.
import t from 'tap';
import { inTransaction } from '../db/client.ts';
import { postStockMove } from '../handlers/lib/ledger.ts';
import { level, posted, reverse, startStockServer } from './helpers/stock.ts';

t.test('a reversal posts the opposite move, links both, and happens once', async (t) => {
  const { s, api } = await startStockServer(t, ['WH-A', 'WH-B'], {
    'sku-1': 'NONE',
    glue: 'BATCH',
    drill: 'SERIAL',
  });
  await posted(api, {
    type: 'RECEIPT',
    to_wh: 'WH-A',
    lines: [
      { item_id: 'sku-1', qty: 10 },
      { item_id: 'glue', qty: 5, batch: 'B1', expires_at: '2027-03-01T00:00:00Z' },
      { item_id: 'drill', qty: 1, serials: ['D1'] },
    ],
  });

  const issue = await posted(api, {
    type: 'ISSUE',
    from_wh: 'WH-A',
    reference: 'SO-7',
    lines: [
      { item_id: 'sku-1', qty: 4 },
      { item_id: 'glue', qty: 2 },
      { item_id: 'drill', qty: 1, serials: ['D1'] },
    ],
  });
  const first = await reverse(api, issue.id, 'undo-issue');
  t.equal(first.response.status, 201, JSON.stringify(first.error));
  const reversal = first.data!;
  t.match(reversal, {
    id: /^sm_/,
    type: 'RECEIPT',
    to_wh: 'WH-A',
    status: 'POSTED',
    reverses: issue.id,
    reference: 'SO-7',
    reason: `Reversal of ${issue.id}`,
  });
  t.same(
    reversal.lines.map((l) => [l.item_id, l.qty, l.batch, l.expires_at, l.serials]),
    [
      ['sku-1', 4, undefined, undefined, []],
      ['glue', 2, 'B1', '2027-03-01T00:00:00.000Z', []],
      ['drill', 1, undefined, undefined, ['D1']],
    ],
  );
  t.match(
    (await api.GET('/inventory/stock-moves/{id}', { params: { path: { id: issue.id } } })).data,
    { status: 'REVERSED', reversed_by: reversal.id },
  );
  t.match(await level(api, 'sku-1', 'WH-A'), { on_hand: 10 });
  t.match(await level(api, 'glue', 'WH-A'), { on_hand: 5, batches: [{ batch: 'B1', on_hand: 5 }] });
  t.match((await api.GET('/inventory/serials', {})).data?.data, [
    { serial: 'D1', warehouse_id: 'WH-A', status: 'IN_STOCK' },
  ]);

  const replay = await reverse(api, issue.id, 'undo-issue');
  t.equal(replay.response.headers.get('idempotent-replayed'), 'true');
  t.same(replay.data, reversal);
  t.match(
    (await reverse(api, issue.id)).error,
    { status: 409, type: /invalid-state$/, current_status: 'REVERSED' },
    'already reversed',
  );
  t.match(
    (await reverse(api, reversal.id)).error,
    { status: 409, type: /invalid-state$/, detail: /itself the reversal/ },
    'a reversal is not reversed',
  );
  t.equal((await reverse(api, 'sm_nope')).response.status, 404);
  const audit = await api.GET('/inventory/audit', {
    params: { query: { entity: 'stock_move', id: issue.id } },
  });
  t.same(
    audit.data?.data.map((e) => e.action),
    ['stock_move.reversed', 'stock_move.posted'],
  );
  t.match(audit.data?.data[0], {
    before: { status: 'POSTED' },
    after: { status: 'REVERSED', reversed_by: reversal.id },
  });
  const [{ events }] =
    await s.sql`SELECT count(*) AS events FROM outbox WHERE payload->'data'->>'id' = ${reversal.id}`;
  t.equal(events, 1, 'the reversal is a posting with its own event');

  const transfer = await posted(api, {
    type: 'TRANSFER',
    from_wh: 'WH-A',
    to_wh: 'WH-B',
    lines: [{ item_id: 'sku-1', qty: 6 }],
  });
  await posted(api, { type: 'ISSUE', from_wh: 'WH-B', lines: [{ item_id: 'sku-1', qty: 5 }] });
  t.match(
    (await reverse(api, transfer.id)).error,
    { status: 409, type: /over-issuance$/, warehouse_id: 'WH-B', requested: 6, available: 1 },
    'the stock it moved is gone',
  );
  t.match(await level(api, 'sku-1', 'WH-B'), { on_hand: 1 });
  t.match(
    await s.client({ warehouses: ['WH-A'] }).POST('/inventory/stock-moves/{id}/reverse', {
      params: { path: { id: transfer.id }, header: { 'Idempotency-Key': 'k' } },
    }),
    { error: { status: 403, warehouse_id: 'WH-B' } },
  );

  const count = await posted(api, {
    type: 'ADJUSTMENT',
    to_wh: 'WH-A',
    reason: 'Count',
    lines: [{ item_id: 'sku-1', qty: -2, expected_on_hand: 4 }],
  });
  const undoCount = (await reverse(api, count.id)).data!;
  t.match(undoCount, { type: 'ADJUSTMENT', to_wh: 'WH-A', lines: [{ item_id: 'sku-1', qty: 2 }] });
  t.notOk('expected_on_hand' in undoCount.lines[0], 'the count belongs to the original only');
  t.match(await level(api, 'sku-1', 'WH-A'), { on_hand: 4 });
});

t.test('moves posted by a receipt are not reversed here; the ledger refuses edits', async (t) => {
  const { s, api } = await startStockServer(t, ['WH-A'], { 'sku-1': 'NONE' });
  // As procurement posts a receipt: through the ledger, on its own transaction.
  const principal = {
    sub: 'receiver',
    clientId: 'receiver',
    scopes: new Set(['inventory:write']),
    warehouses: null,
  };
  const byReceipt = await inTransaction(s.sql, (tx) =>
    postStockMove(
      tx,
      { sub: 'receiver', clientId: 'receiver', requestId: 'req-1' },
      principal,
      { type: 'RECEIPT', to_wh: 'WH-A', lines: [{ item_id: 'sku-1', qty: 3 }] },
      { receiptId: 'rcpt_1' },
    ),
  );
  t.match(byReceipt, { receipt_id: 'rcpt_1', status: 'POSTED', created_by: 'receiver' });
  t.match((await reverse(api, byReceipt.id)).error, {
    status: 409,
    type: /invalid-state$/,
    detail: /receipt rcpt_1/,
  });

  for (const statement of [
    () => s.sql`UPDATE stock_move_lines SET qty = 30`,
    () => s.sql`DELETE FROM stock_move_lines`,
    () => s.sql`UPDATE stock_moves SET reason = 'edited'`,
    () => s.sql`UPDATE stock_moves SET status = 'REVERSED'`,
    () => s.sql`DELETE FROM stock_moves`,
  ]) {
    await t.rejects(statement, { code: '23001' }, 'the ledger is append-only');
  }
  await t.rejects(
    () => s.sql`UPDATE stock_levels SET on_hand = -1`,
    { code: '23514' },
    'negative stock is impossible',
  );
  await t.rejects(
    () => s.sql`UPDATE stock_levels SET reserved = on_hand + 1`,
    { code: '23514' },
    'so is reserving more than is on hand',
  );
});
