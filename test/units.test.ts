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
