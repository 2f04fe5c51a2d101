// Postings planned and written together, as group commit batches them: what the batch leaves must
// be what the same postings committed one by one leave. A level (or batch) that one posting
// creates and another empties is a row at zero afterwards, as the events of the batch say, not a
// row that never existed.
import t from 'tap';
import { Ledger, type Posting } from '../handlers/lib/ledger.ts';
import { checkInvariants } from '../scripts/lib/invariants.ts';
import { level, posted, startStockServer } from './helpers/stock.ts';

const actor = { sub: 'batcher', clientId: 'test', requestId: 'ledger-batch' };
const principal = {
  sub: 'batcher',
  clientId: 'test',
  scopes: new Set(['inventory:write']),
  warehouses: null,
};

t.test(
  'a level and a batch created and emptied in one batch of postings exist at zero',
  async (t) => {
    const { s, api } = await startStockServer(t, ['WH-A', 'WH-B'], { bolt: 'NONE', glue: 'BATCH' });
    await posted(api, {
      type: 'RECEIPT',
      to_wh: 'WH-A',
      lines: [
        { item_id: 'bolt', qty: 5 },
        { item_id: 'glue', qty: 5, batch: 'L1', expires_at: '2030-01-01T00:00:00Z' },
      ],
    });
    const lines = [
      { item_id: 'bolt', qty: 2 },
      { item_id: 'glue', qty: 2, batch: 'L1' },
    ];
    const postings: Posting[] = [
      { actor, principal, input: { type: 'TRANSFER', from_wh: 'WH-A', to_wh: 'WH-B', lines } },
      { actor, principal, input: { type: 'ISSUE', from_wh: 'WH-B', lines } },
    ];
    await s.sql.begin(async (tx) => {
      const ledger = await Ledger.load(tx, postings);
      for (const p of postings) ledger.post(p);
      await ledger.write(tx);
    });

    t.match(await level(api, 'bolt', 'WH-B'), { on_hand: 0, reserved: 0 }, 'the level is listed');
    const [batch] = await s.sql`
    SELECT on_hand::float8 FROM batch_levels WHERE item_id = 'glue' AND warehouse_id = 'WH-B'`;
    t.same(batch, { on_hand: 0 }, 'the batch is there, empty');
    const events = await s.sql`
    SELECT payload->'data' AS data FROM outbox
    WHERE type = 'inventory.stock_level.changed' AND payload->'data'->>'warehouse_id' = 'WH-B'
    ORDER BY seq`;
    t.same(
      events.map((e) => [e.data.item_id, e.data.on_hand]),
      [
        ['bolt', 2],
        ['glue', 2],
        ['bolt', 0],
        ['glue', 0],
      ],
      'the events: in, then out',
    );
    t.match(await level(api, 'bolt', 'WH-A'), { on_hand: 3 });
    t.strictSame((await checkInvariants(s.sql)).violations, [], 'stock equals the ledger');
  },
);
