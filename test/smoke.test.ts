import t from 'tap';
import { startServer } from './helpers/server.ts';

t.test('create and list a warehouse and an item', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  const wh = await api.POST('/inventory/warehouses', { body: { id: 'WH-A', name: 'Main' } });
  t.equal(wh.response.status, 201, JSON.stringify(wh.error));
  const item = await api.POST('/inventory/items', { body: { id: 'sku-1', sku: 'SKU-1', name: 'Bolt', uom: 'EA', track_by: 'NONE' } });
  t.equal(item.response.status, 201, JSON.stringify(item.error));
  t.equal(item.response.headers.get('etag'), '"v1"');
  const list = await api.GET('/inventory/items', { params: { query: { search: 'bol' } } });
  t.equal(list.data?.data.length, 1, JSON.stringify(list.error));
  const moves = await s.request('/inventory/stock-moves', { method: 'POST', json: { type: 'ISSUE', from_wh: 'WH-A', lines: [{ item_id: 'sku-1', qty: 1 }] }, headers: { 'idempotency-key': 'k1' } });
  t.equal(moves.status, 409, "nothing on hand to issue");
  console.log(await moves.json(), Object.fromEntries(moves.headers));
});
