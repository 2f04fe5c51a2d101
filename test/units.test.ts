// Units of measure (docs/units.md): the pure conversions of handlers/lib/units.ts, exact or
// refused, and an item's conversions as the API takes them.
import t from 'tap';
import { micro } from '../handlers/lib/quantity.ts';
import {
  checkStockQty,
  parseDecimal,
  toStockPrice,
  toStockQty,
  toUomPrice,
  toUomQty,
  type Units,
} from '../handlers/lib/units.ts';
import { ik } from './helpers/procurement.ts';
import { startServer } from './helpers/server.ts';

const cable: Units = {
  uom: 'M',
  uom_conversions: [
    { uom: 'FT', numerator: 381, denominator: 1250 },
    { uom: 'DRUM', numerator: 100, denominator: 1 },
  ],
  integral: false,
};
const bolts: Units = {
  uom: 'EA',
  uom_conversions: [
    { uom: 'BOX', numerator: 12, denominator: 1 },
    { uom: 'DOZ', numerator: 12, denominator: 1 },
    { uom: 'PAIR', numerator: 2, denominator: 1 },
  ],
  integral: true,
};

t.test('quantities convert exactly or are refused with their code', async (t) => {
  t.same(toStockQty(cable, 'FT', 1000), { ok: true, value: micro(304.8) }, '1,000 ft = 304.8 m');
  t.same(toStockQty(cable, 'M', 2.5), { ok: true, value: micro(2.5) }, 'the stock unit is 1/1');
  t.same(toStockQty(cable, 'DRUM', -0.5), { ok: true, value: micro(-50) }, 'signed');
  t.match(toStockQty(cable, 'FT', 0.000001), { ok: false, code: 'uom_not_exact' });
  t.match(toStockQty(cable, 'YD', 1), { ok: false, code: 'unknown_uom' });
  t.match(toStockQty(cable, 'DRUM', 10_000_001), { ok: false, code: 'maximum' });
  t.same(toStockQty(bolts, 'DOZ', 16), { ok: true, value: micro(192) });
  t.match(toStockQty(bolts, 'DOZ', 16.67), { ok: false, code: 'uom_not_integral' }, '200.04 EA');
  t.match(toStockQty(bolts, 'DOZ', 0.5), { ok: true, value: micro(6) });
  t.match(checkStockQty(bolts, 1.5), { ok: false, code: 'uom_not_integral' });
  t.match(checkStockQty(cable, 1.5), { ok: true });
  t.same(toUomQty(cable, 'FT', micro(304.8)), { ok: true, value: micro(1000) });
  t.match(toUomQty(cable, 'FT', micro(1)), { ok: false, code: 'uom_not_exact' });
  t.same(
    toUomQty(cable, 'DRUM', micro(150.000001), 'up'),
    { ok: true, value: micro(1.500001) },
    'rounded up to cover',
  );
});

t.test('prices per unit convert exactly or are refused', async (t) => {
  t.same(toStockPrice(bolts, 'BOX', '6.00'), { ok: true, value: '0.5' });
  t.same(toStockPrice(bolts, 'EA', '0.12'), { ok: true, value: '0.12' });
  t.match(toStockPrice(bolts, 'BOX', '1.00'), { ok: false, code: 'uom_not_exact' }, '1/12');
  t.same(toStockPrice(cable, 'FT', '0.381'), { ok: true, value: '1.25' });
  t.same(toUomPrice(bolts, 'BOX', '0.5'), { ok: true, value: '6' });
  const halves: Units = {
    uom: 'EA',
    uom_conversions: [{ uom: 'HALF', numerator: 1, denominator: 2 }],
    integral: false,
  };
  t.match(toStockPrice(halves, 'HALF', '999999999999'), { ok: false, code: 'maximum' });
  t.equal(parseDecimal('12.000001'), 12_000_001n);
  t.equal(parseDecimal('-0.4'), -400_000n);
  t.equal(parseDecimal('1.0000001'), null);
});

t.test(
  'an item names its units: each once, none its own; PUT without them keeps them',
  async (t) => {
    const s = await startServer(t);
    const post = (body: object) =>
      s.request('/inventory/items', { method: 'POST', json: body, headers: ik() });
    const base = { sku: 'CABLE', name: 'Cable', uom: 'M', track_by: 'NONE' };
    const made = await post({
      ...base,
      id: 'cable',
      uom_conversions: [{ uom: 'FT', numerator: 381, denominator: 1250 }],
    });
    t.equal(made.status, 201);
    t.match(await made.json(), {
      uom: 'M',
      uom_conversions: [{ uom: 'FT', numerator: 381, denominator: 1250 }],
      integral: false,
    });
    const plain = await post({ ...base, sku: 'PLAIN', id: 'plain' });
    t.match(await plain.json(), { uom_conversions: [], integral: false }, 'defaults');

    const refused = await post({
      ...base,
      sku: 'BAD',
      uom_conversions: [
        { uom: 'M', numerator: 1, denominator: 1 },
        { uom: 'FT', numerator: 381, denominator: 1250 },
        { uom: 'FT', numerator: 1, denominator: 3 },
      ],
    });
    t.equal(refused.status, 422);
    t.match((await refused.json()).errors, [
      { pointer: '#/uom_conversions/0/uom', code: 'stock_uom' },
      { pointer: '#/uom_conversions/2/uom', code: 'duplicate_uom' },
    ]);
    const zero = await post({
      ...base,
      sku: 'ZERO',
      uom_conversions: [{ uom: 'FT', numerator: 0, denominator: 1 }],
    });
    t.equal(zero.status, 422);
    t.match((await zero.json()).errors, [
      { pointer: '#/uom_conversions/0/numerator', code: 'minimum' },
    ]);
    const fraction = await post({
      ...base,
      sku: 'FRAC',
      uom_conversions: [{ uom: 'FT', numerator: 0.3048, denominator: 1 }],
    });
    t.equal(fraction.status, 422, 'a decimal factor is not a ratio of integers');
    const [{ n }] =
      await s.sql`SELECT count(*)::int AS n FROM items WHERE sku IN ('BAD', 'ZERO', 'FRAC')`;
    t.equal(n, 0, 'nothing made');

    const put = (etag: string, body: object) =>
      s.request('/inventory/items/cable', {
        method: 'PUT',
        json: body,
        headers: { 'if-match': etag },
      });
    const renamed = await put('"v1"', {
      ...base,
      name: 'Cable 3G1.5',
      active: true,
      integral: true,
    });
    t.equal(renamed.status, 200);
    t.match(await renamed.json(), {
      name: 'Cable 3G1.5',
      uom_conversions: [{ uom: 'FT' }],
      integral: true,
      etag: '"v2"',
    });
    const clash = await put('"v2"', {
      ...base,
      uom: 'FT',
      active: true,
    });
    t.equal(clash.status, 422, 'the stock unit may not become one of its conversions');
    t.match((await clash.json()).errors, [
      { pointer: '#/uom_conversions/0/uom', code: 'stock_uom' },
    ]);
    const cleared = await put('"v2"', { ...base, active: true, uom_conversions: [] });
    t.match(await cleared.json(), { uom_conversions: [], integral: true, etag: '"v3"' });
  },
);

t.test(
  'stock move lines in a unit: converted, echoed, stored; each refusal a 422 at its field',
  async (t) => {
    const s = await startServer(t);
    const api = s.client();
    await api.POST('/inventory/warehouses', { body: { id: 'WH-A', name: 'Main' } });
    await api.POST('/inventory/items', {
      body: {
        id: 'bolt',
        sku: 'BOLT',
        name: 'Bolt',
        uom: 'EA',
        track_by: 'NONE',
        integral: true,
        uom_conversions: [{ uom: 'BOX', numerator: 12, denominator: 1 }],
      },
    });
    const move = (lines: object[], type = 'RECEIPT') =>
      s.request('/inventory/stock-moves', {
        method: 'POST',
        json: { type, to_wh: 'WH-A', reason: 'count', lines },
        headers: ik(),
      });
    const made = await move([
      { item_id: 'bolt', uom: 'BOX', uom_qty: 2 },
      { item_id: 'bolt', qty: 5 },
    ]);
    t.equal(made.status, 201);
    const body = await made.json();
    t.match(body.lines, [{ item_id: 'bolt', qty: 24, uom: 'BOX', uom_qty: 2 }, { qty: 5 }]);
    t.notOk('uom' in body.lines[1], 'a line in stock units echoes no unit');
    const got = await (await s.request(`/inventory/stock-moves/${body.id}`)).json();
    t.same(got.lines, body.lines, 'stored as answered');
    const down = await move([{ item_id: 'bolt', uom: 'BOX', uom_qty: -0.5 }], 'ADJUSTMENT');
    t.match((await down.json()).lines, [{ qty: -6, uom: 'BOX', uom_qty: -0.5 }], 'signed');

    const level = async () =>
      (await s.sql`SELECT on_hand::text FROM stock_levels WHERE item_id = 'bolt'`)[0].on_hand;
    t.equal(await level(), '23');
    const cases: [object, string, string][] = [
      [{ item_id: 'bolt', qty: 12, uom: 'BOX', uom_qty: 1 }, '#/lines/0/uom_qty', 'qty_or_uom'],
      [{ item_id: 'bolt' }, '#/lines/0/qty', 'required'],
      [{ item_id: 'bolt', uom: 'BOX' }, '#/lines/0/uom_qty', 'required'],
      [{ item_id: 'bolt', uom_qty: 1 }, '#/lines/0/uom', 'required'],
      [{ item_id: 'bolt', uom: 'CRATE', uom_qty: 1 }, '#/lines/0/uom', 'unknown_uom'],
      [{ item_id: 'bolt', uom: 'BOX', uom_qty: 0.1 }, '#/lines/0/uom_qty', 'uom_not_integral'],
      [{ item_id: 'bolt', qty: 1.5 }, '#/lines/0/qty', 'uom_not_integral'],
      [{ item_id: 'bolt', uom: 'BOX', uom_qty: 100_000_000 }, '#/lines/0/uom_qty', 'maximum'],
    ];
    for (const [line, pointer, code] of cases) {
      const res = await move([line]);
      t.equal(res.status, 422, `${code} at ${pointer}`);
      t.match((await res.json()).errors, [{ pointer, code }]);
    }
    t.equal(await level(), '23', 'nothing refused changed stock');
  },
);

t.test(
  'procurement in feet of cable stocked in metres: exact, no false over-receipt',
  async (t) => {
    const s = await startServer(t);
    const api = s.client();
    await api.POST('/inventory/warehouses', { body: { id: 'WH-A', name: 'Main' } });
    await api.POST('/procurement/vendors', {
      body: { id: 'ven', name: 'Cables NV', currency: 'EUR' },
    });
    await api.POST('/inventory/items', {
      body: {
        id: 'cable',
        sku: 'CABLE',
        name: 'Cable',
        uom: 'M',
        track_by: 'NONE',
        uom_conversions: [
          { uom: 'FT', numerator: 381, denominator: 1250 },
          { uom: 'DRUM', numerator: 100, denominator: 1 },
        ],
      },
    });
    const post = (path: string, json: object) =>
      s.request(path, { method: 'POST', json, headers: ik() });
    const order = (line: object) =>
      post('/procurement/purchase-orders', {
        vendor_id: 'ven',
        ship_to_warehouse_id: 'WH-A',
        lines: [{ item_id: 'cable', ...line }],
      });

    for (const [line, pointer, code] of [
      [{ uom: 'FT', uom_qty: 1000, unit_price: '1' }, '#/lines/0/unit_price', 'uom_not_exact'],
      [{ uom: 'FT', uom_qty: 0.000001, unit_price: '0.381' }, '#/lines/0/uom_qty', 'uom_not_exact'],
      [{ uom: 'YD', uom_qty: 1, unit_price: '1' }, '#/lines/0/uom', 'unknown_uom'],
      [{ qty: 1, uom: 'FT', unit_price: '1' }, '#/lines/0/uom', 'qty_or_uom'],
    ] as [object, string, string][]) {
      const res = await order(line);
      t.equal(res.status, 422, `${code} at ${pointer}`);
      t.match((await res.json()).errors, [{ pointer, code }]);
    }
    const [{ n }] = await s.sql`SELECT count(*)::int AS n FROM purchase_orders`;
    t.equal(n, 0, 'no order made by a refused request');

    const made = await order({ uom: 'FT', uom_qty: 1000, unit_price: '0.381' });
    t.equal(made.status, 201);
    let po = await made.json();
    t.match(po.lines, [
      { qty: 304.8, unit_price: '1.25', uom: 'FT', uom_qty: 1000, uom_unit_price: '0.381' },
    ]);
    const sent = await s.request(`/procurement/purchase-orders/${po.id}/send`, {
      method: 'POST',
      headers: { ...ik(), 'if-match': po.etag },
    });
    po = await sent.json();
    const line = po.lines[0].id;
    const first = await post('/procurement/receipts', {
      po_id: po.id,
      warehouse_id: 'WH-A',
      lines: [{ po_line_id: line, uom: 'FT', uom_qty: 600 }],
    });
    t.equal(first.status, 201);
    t.match((await first.json()).lines, [{ qty_received: 182.88, uom: 'FT', uom_qty: 600 }]);
    const rest = await post('/procurement/receipts', {
      po_id: po.id,
      warehouse_id: 'WH-A',
      lines: [{ po_line_id: line, uom: 'FT', uom_qty: 400 }],
    });
    t.equal(rest.status, 201, '600 ft + 400 ft is the 1,000 ft ordered, exactly');
    const more = await post('/procurement/receipts', {
      po_id: po.id,
      warehouse_id: 'WH-A',
      lines: [{ po_line_id: line, qty_received: 0.000001 }],
    });
    t.equal(more.status, 409, 'and not a millionth more');
    const back = await post('/procurement/vendor-returns', {
      po_id: po.id,
      warehouse_id: 'WH-A',
      reason: 'cut short',
      lines: [{ po_line_id: line, uom: 'FT', uom_qty: 10 }],
    });
    t.equal(back.status, 201);
    t.match((await back.json()).lines, [{ qty: 3.048, uom: 'FT', uom_qty: 10 }]);
    const badReturn = await post('/procurement/vendor-returns', {
      po_id: po.id,
      warehouse_id: 'WH-A',
      reason: 'x',
      lines: [{ po_line_id: line, uom: 'FT', uom_qty: 0.000001 }],
    });
    t.equal(badReturn.status, 422);
    t.match((await badReturn.json()).errors, [
      { pointer: '#/lines/0/uom_qty', code: 'uom_not_exact' },
    ]);
    const invoice = await post('/procurement/invoices', {
      po_id: po.id,
      number: 'INV-1',
      lines: [{ po_line_id: line, uom: 'FT', uom_qty: 1000, unit_price: '0.381' }],
    });
    t.equal(invoice.status, 201);
    t.match((await invoice.json()).lines, [
      {
        qty: 304.8,
        unit_price: '1.25',
        uom: 'FT',
        uom_qty: 1000,
        uom_unit_price: '0.381',
      },
    ]);
    const badInvoice = await post('/procurement/invoices', {
      po_id: po.id,
      number: 'INV-2',
      lines: [{ po_line_id: line, uom: 'DRUM', uom_qty: 1, unit_price: '0.01' }],
    });
    t.equal(badInvoice.status, 201, '0.01 per drum of 100 m is 0.0001 per metre');
    const cheap = await post('/procurement/invoices', {
      po_id: po.id,
      number: 'INV-3',
      lines: [{ po_line_id: line, uom: 'DRUM', uom_qty: 1, unit_price: '0.00001' }],
    });
    t.equal(cheap.status, 422);
    t.match((await cheap.json()).errors, [
      { pointer: '#/lines/0/unit_price', code: 'uom_not_exact' },
    ]);
    const after = await (await s.request(`/procurement/purchase-orders/${po.id}`)).json();
    t.comment(JSON.stringify(after.lines));
    t.match(after.lines, [
      { qty: 304.8, qty_received: 304.8, qty_returned: 3.048, qty_invoiced: 404.8 },
    ]);
    const [level] = await s.sql`SELECT on_hand::text FROM stock_levels WHERE item_id = 'cable'`;
    t.equal(level.on_hand, '301.752');

    const req = await post('/procurement/requisitions', {
      lines: [{ item_id: 'cable', uom: 'DRUM', uom_qty: 2, unit_price: '150', vendor_id: 'ven' }],
    });
    t.equal(req.status, 201);
    t.match((await req.json()).lines, [
      { qty: 200, uom: 'DRUM', uom_qty: 2, unit_price: '1.5', uom_unit_price: '150' },
    ]);
  },
);

t.test('a change order in a unit: converted like a new order, refused the same way', async (t) => {
  const s = await startServer(t);
  const api = s.client();
  await api.POST('/procurement/vendors', { body: { id: 'ven', name: 'Vendor', currency: 'EUR' } });
  await api.POST('/inventory/items', {
    body: {
      id: 'bolt',
      sku: 'BOLT',
      name: 'Bolt',
      uom: 'EA',
      track_by: 'NONE',
      integral: true,
      uom_conversions: [{ uom: 'BOX', numerator: 12, denominator: 1 }],
    },
  });
  const post = (path: string, json: object, headers: Record<string, string> = {}) =>
    s.request(path, { method: 'POST', json, headers: { ...ik(), ...headers } });
  let po = await (
    await post('/procurement/purchase-orders', {
      vendor_id: 'ven',
      lines: [{ item_id: 'bolt', uom: 'BOX', uom_qty: 10, unit_price: '6' }],
    })
  ).json();
  t.match(po.lines, [
    { qty: 120, unit_price: '0.5', uom: 'BOX', uom_qty: 10, uom_unit_price: '6' },
  ]);
  po = await (
    await post(`/procurement/purchase-orders/${po.id}/send`, {}, { 'if-match': po.etag })
  ).json();
  const revise = (line: object) =>
    post(
      `/procurement/purchase-orders/${po.id}/revisions`,
      { reason: 'vendor short', lines: [{ id: po.lines[0].id, item_id: 'bolt', ...line }] },
      { 'if-match': po.etag },
    );
  const refused = await revise({ uom: 'BOX', uom_qty: 8.01, unit_price: '6' });
  t.equal(refused.status, 422);
  t.match((await refused.json()).errors, [
    { pointer: '#/lines/0/uom_qty', code: 'uom_not_integral' },
  ]);
  const revised = await revise({ uom: 'BOX', uom_qty: 8.5, unit_price: '6' });
  t.equal(revised.status, 200);
  t.match((await revised.json()).lines, [
    { qty: 102, unit_price: '0.5', uom: 'BOX', uom_qty: 8.5 },
  ]);
});

t.test(
  'receipts in a unit racing for one order line: exactly what fits is received, exactly',
  async (t) => {
    const s = await startServer(t);
    const api = s.client();
    await api.POST('/inventory/warehouses', { body: { id: 'WH-A', name: 'Main' } });
    await api.POST('/procurement/vendors', {
      body: { id: 'ven', name: 'Vendor', currency: 'EUR' },
    });
    await api.POST('/inventory/items', {
      body: {
        id: 'bolt',
        sku: 'BOLT',
        name: 'Bolt',
        uom: 'EA',
        track_by: 'NONE',
        integral: true,
        uom_conversions: [{ uom: 'BOX', numerator: 12, denominator: 1 }],
      },
    });
    const post = (path: string, json: object, headers: Record<string, string> = {}) =>
      s.request(path, { method: 'POST', json, headers: { ...ik(), ...headers } });
    for (const [boxes, expected, received] of [
      [1.5, [201, 409], 18],
      [1, [201, 201], 24],
    ] as [number, number[], number][]) {
      let po = await (
        await post('/procurement/purchase-orders', {
          vendor_id: 'ven',
          ship_to_warehouse_id: 'WH-A',
          lines: [{ item_id: 'bolt', uom: 'BOX', uom_qty: 2, unit_price: '6' }],
        })
      ).json();
      po = await (
        await post(`/procurement/purchase-orders/${po.id}/send`, {}, { 'if-match': po.etag })
      ).json();
      const receipt = () =>
        post('/procurement/receipts', {
          po_id: po.id,
          warehouse_id: 'WH-A',
          lines: [{ po_line_id: po.lines[0].id, uom: 'BOX', uom_qty: boxes }],
        });
      const both = await Promise.all([receipt(), receipt()]);
      t.same(
        both.map((r) => r.status).sort(),
        expected,
        `two receipts of ${boxes} box against 2 boxes`,
      );
      const [line] = await s.sql`
      SELECT qty_received::text FROM purchase_order_lines WHERE po_id = ${po.id}`;
      t.equal(line.qty_received, String(received), 'the line received exactly what was accepted');
    }
    const [level] = await s.sql`SELECT on_hand::text FROM stock_levels WHERE item_id = 'bolt'`;
    t.equal(level.on_hand, '42', 'stock is what the receipts accepted');
  },
);
