// Property: quantities and prices given in random units (random exact ratios, integral items or
// not) through purchase order → receipt → vendor return → invoice come out exact: every figure
// (ordered, received, returned, invoiced, on hand, unit prices) equals what exact rational
// arithmetic (BigInt, below) says, and every conversion that is not exact is refused with 422, its
// code and pointer, having changed nothing. The model here is independent of handlers/lib/units.ts.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import t from 'tap';
import { checkInvariants } from '../scripts/lib/invariants.ts';
import { ik, ok } from './helpers/procurement.ts';
import { startServer } from './helpers/server.ts';

// Bounded for the shared machine (10 to 30 s); PROPERTY_RUNS=300 digs deeper.
const NUM_RUNS = Number(process.env.PROPERTY_RUNS ?? 100);
const SCALE = 1_000_000n;
const QTY_MAX = 1_000_000_000n * SCALE;

/** Millionths as the decimal text the API writes (and a JSON number reads back as). */
function text(m: bigint): string {
  const sign = m < 0n ? '-' : '';
  const abs = m < 0n ? -m : m;
  const f = (abs % SCALE).toString().padStart(6, '0').replace(/0+$/, '');
  return `${sign}${abs / SCALE}${f ? `.${f}` : ''}`;
}
const num = (m: bigint) => Number(text(m));
const microOf = (x: number | string) => {
  const [i, f = ''] = String(x).split('.');
  return BigInt(i) * SCALE + BigInt(f.padEnd(6, '0'));
};

interface Ratio {
  n: bigint;
  d: bigint;
}
type Outcome = { ok: true; m: bigint } | { ok: false; code: string };

/** uomQty (millionths) of a unit worth n/d stock units, in stock units: exact, or why not. */
function stockQty(m: bigint, r: Ratio, integral: boolean): Outcome {
  if ((m * r.n) % r.d !== 0n) return { ok: false, code: 'uom_not_exact' };
  const q = (m * r.n) / r.d;
  if (q > QTY_MAX) return { ok: false, code: 'maximum' };
  if (integral && q % SCALE !== 0n) return { ok: false, code: 'uom_not_integral' };
  return { ok: true, m: q };
}
/** A price per unit (millionths) as a price per stock unit: × d / n, exact or not. */
function stockPrice(p: bigint, r: Ratio): Outcome {
  if ((p * r.d) % r.n !== 0n) return { ok: false, code: 'uom_not_exact' };
  return { ok: true, m: (p * r.d) / r.n };
}

/** A quantity as a line gives it: in stock units (`qty`), or in the item's BOX. */
const amount = fc.record({
  inBox: fc.boolean(),
  m: fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: 1, max: 6 }).map((k) => BigInt(k) * SCALE) },
    fc.integer({ min: 1, max: 40 }).map((k) => BigInt(k) * SCALE),
    fc.integer({ min: 1, max: 160 }).map((k) => BigInt(k) * 250_000n),
    fc.integer({ min: 1, max: 40_000_000 }).map(BigInt),
    fc.constant(900_000_000n * SCALE),
  ),
});
type Amount = typeof amount extends fc.Arbitrary<infer A> ? A : never;

/**
 * A price per unit in millionths: any, or a whole number of cents times the unit's numerator (so
 * that most prices per BOX divide into a price per stock unit; the others are refused).
 */
const price = fc.record({
  cents: fc.integer({ min: 1, max: 5_000 }).map(BigInt),
  any: fc.integer({ min: 1, max: 50_000_000 }).map(BigInt),
  divisible: fc.boolean(),
});
type Price = typeof price extends fc.Arbitrary<infer P> ? P : never;
const priceOf = (p: Price, r: Ratio) => (p.divisible ? p.cents * 10_000n * r.n : p.any);

const step = fc.record({
  kind: fc.constantFrom('receipt', 'receipt', 'return', 'invoice'),
  amount,
  price,
});

const scenario = fc.record({
  ratio: fc.record({
    n: fc.constantFrom(1n, 2n, 3n, 12n, 100n, 381n),
    d: fc.constantFrom(1n, 2n, 3n, 7n, 1250n),
  }),
  integral: fc.boolean(),
  order: fc.record({
    inBox: fc.boolean(),
    m: fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 2, max: 40 }).map((k) => BigInt(k) * SCALE) },
      fc.integer({ min: 1, max: 40_000_000 }).map(BigInt),
      fc.constant(900_000_000n * SCALE),
    ),
  }),
  orderPrice: price,
  steps: fc.array(step, { minLength: 1, maxLength: 6 }),
});

t.test(
  'random units through PO, receipt, vendor return and invoice: exact figures, inexact refused',
  async (t) => {
    const s = await startServer(t);
    const api = s.client();
    ok(await api.POST('/inventory/warehouses', { body: { id: 'WH-A', name: 'Main' } }));
    ok(
      await api.POST('/procurement/vendors', {
        body: { id: 'ven', name: 'Vendor', currency: 'EUR' },
      }),
    );
    let runs = 0;
    let requests = 0;
    const codes = new Map<string, number>();
    const seen = (what: string) => codes.set(what, (codes.get(what) ?? 0) + 1);
    const started = Date.now();

    await fc.assert(
      fc.asyncProperty(scenario, async ({ ratio, integral, order, orderPrice: op, steps }) => {
        const orderPrice = priceOf(op, ratio);
        runs++;
        const item = `u-${runs}`;
        ok(
          await api.POST('/inventory/items', {
            params: { header: ik() },
            body: {
              id: item,
              sku: item,
              name: item,
              uom: 'EA',
              track_by: 'NONE',
              integral,
              uom_conversions: [
                { uom: 'BOX', numerator: Number(ratio.n), denominator: Number(ratio.d) },
              ],
            },
          }),
        );
        const one: Ratio = { n: 1n, d: 1n };
        /** The line fields of an amount, and its model outcome in stock units. */
        const given = (a: Amount, field = 'qty') =>
          a.inBox
            ? {
                body: { uom: 'BOX', uom_qty: num(a.m) } as Record<string, unknown>,
                out: stockQty(a.m, ratio, integral),
                pointer: (code: string) => (code === 'unknown_uom' ? 'uom' : 'uom_qty'),
              }
            : {
                body: { [field]: num(a.m) } as Record<string, unknown>,
                out: stockQty(a.m, one, integral),
                pointer: () => field,
              };
        /** A 422 must carry exactly the model's code at the model's pointer. */
        const refusedAs = async (
          res: { response: Response; error?: unknown },
          code: string,
          pointer: string,
        ) => {
          requests++;
          seen(`422 ${code}`);
          const problem = res.error as { errors?: { pointer: string; code: string }[] };
          if (res.response.status !== 422 || problem?.errors?.length !== 1)
            throw new Error(
              `expected 422 ${code} at ${pointer}: ${res.response.status} ${JSON.stringify(res.error)}`,
            );
          const [e] = problem.errors;
          if (e.code !== code || e.pointer !== pointer)
            throw new Error(`expected ${code} at ${pointer}, got ${e.code} at ${e.pointer}`);
        };

        // The order: its quantity and its price per unit given.
        const o = given(order);
        const price = order.inBox
          ? stockPrice(orderPrice, ratio)
          : { ok: true as const, m: orderPrice };
        const created = await api.POST('/procurement/purchase-orders', {
          params: { header: ik() },
          body: {
            vendor_id: 'ven',
            ship_to_warehouse_id: 'WH-A',
            lines: [{ item_id: item, unit_price: text(orderPrice), ...o.body } as never],
          },
        });
        if (!o.out.ok) return refusedAs(created, o.out.code, `#/lines/0/${o.pointer(o.out.code)}`);
        if (!price.ok) return refusedAs(created, price.code, '#/lines/0/unit_price');
        requests++;
        const po = ok(created);
        const ordered = o.out.m;
        const pol = po.lines[0];
        if (microOf(pol.qty) !== ordered || microOf(pol.unit_price) !== price.m)
          throw new Error(
            `ordered ${pol.qty} at ${pol.unit_price}, expected ${text(ordered)} at ${text(price.m)}`,
          );
        if (order.inBox && (pol.uom !== 'BOX' || microOf(pol.uom_qty ?? 0) !== order.m))
          throw new Error(`the order line does not echo its unit: ${JSON.stringify(pol)}`);
        const sent = ok(
          await api.POST('/procurement/purchase-orders/{id}/send', {
            params: { path: { id: po.id }, header: { ...ik(), 'If-Match': po.etag } },
          }),
        );
        requests += 2;

        let received = 0n;
        let returned = 0n;
        let invoiced = 0n;
        // Receipts first, then returns and invoices (each kind in the order drawn): a return
        // before anything arrived could only be refused.
        const rank = { receipt: 0, return: 1, invoice: 2 };
        const ordered_ = [...steps].sort((a, b) => rank[a.kind] - rank[b.kind]);
        for (const st of ordered_) {
          const g = given(st.amount, st.kind === 'receipt' ? 'qty_received' : 'qty');
          const field = st.kind === 'receipt' ? 'qty_received' : 'qty';
          const line = { po_line_id: pol.id, ...g.body };
          const stepPrice = priceOf(st.price, ratio);
          const res: { data?: unknown; error?: unknown; response: Response } =
            st.kind === 'receipt'
              ? await api.POST('/procurement/receipts', {
                  params: { header: ik() },
                  body: { po_id: sent.id, warehouse_id: 'WH-A', lines: [line as never] },
                })
              : st.kind === 'return'
                ? await api.POST('/procurement/vendor-returns', {
                    params: { header: ik() },
                    body: {
                      po_id: sent.id,
                      warehouse_id: 'WH-A',
                      reason: 'damaged',
                      lines: [line as never],
                    },
                  })
                : await api.POST('/procurement/invoices', {
                    params: { header: ik() },
                    body: {
                      po_id: sent.id,
                      number: randomUUID(),
                      lines: [{ ...line, unit_price: text(stepPrice) } as never],
                    },
                  });
          if (!g.out.ok) {
            await refusedAs(res, g.out.code, `#/lines/0/${g.pointer(g.out.code)}`);
            continue;
          }
          const q = g.out.m;
          if (st.kind === 'invoice') {
            const p = st.amount.inBox
              ? stockPrice(stepPrice, ratio)
              : { ok: true as const, m: stepPrice };
            if (!p.ok) {
              await refusedAs(res, p.code, '#/lines/0/unit_price');
              continue;
            }
            requests++;
            const inv = ok(res) as { lines: { qty: number; unit_price: string }[] };
            if (microOf(inv.lines[0].qty) !== q || microOf(inv.lines[0].unit_price) !== p.m)
              throw new Error(
                `invoiced ${JSON.stringify(inv.lines[0])}, expected ${text(q)} at ${text(p.m)}`,
              );
            seen('201 invoice');
            invoiced += q;
            continue;
          }
          requests++;
          const limit = st.kind === 'receipt' ? ordered - received : received - returned;
          if (q > limit) {
            if (res.response.status !== 409)
              throw new Error(
                `${st.kind} of ${text(q)} over ${text(limit)}: ${res.response.status} ${JSON.stringify(res.error)}`,
              );
            seen(`409 ${st.kind}`);
            continue;
          }
          const doc = ok(res) as { lines: Record<string, unknown>[] };
          if (microOf(doc.lines[0][field] as number) !== q)
            throw new Error(`${st.kind} line ${JSON.stringify(doc.lines[0])}, expected ${text(q)}`);
          if (st.amount.inBox && doc.lines[0].uom !== 'BOX')
            throw new Error(`the ${st.kind} line does not echo its unit`);
          seen(`201 ${st.kind}`);
          if (st.kind === 'receipt') received += q;
          else returned += q;
        }

        const after = ok(
          await api.GET('/procurement/purchase-orders/{id}', { params: { path: { id: po.id } } }),
        ).lines[0];
        const [level] = await s.sql`
          SELECT on_hand::text FROM stock_levels WHERE item_id = ${item} AND warehouse_id = 'WH-A'`;
        const figures = {
          ordered: microOf(after.qty),
          received: microOf(after.qty_received),
          returned: microOf(after.qty_returned),
          invoiced: microOf(after.qty_invoiced),
          on_hand: level ? microOf(level.on_hand) : 0n,
        };
        const model = { ordered, received, returned, invoiced, on_hand: received - returned };
        for (const [k, v] of Object.entries(model))
          if (figures[k as keyof typeof figures] !== v)
            throw new Error(
              `${k} is ${text(figures[k as keyof typeof figures])}, expected ${text(v)}`,
            );
      }),
      {
        numRuns: NUM_RUNS,
        ...(process.env.FC_SEED
          ? { seed: Number(process.env.FC_SEED), path: process.env.FC_PATH }
          : {}),
      },
    );
    t.strictSame((await checkInvariants(s.sql)).violations, [], 'stock agrees with the ledger');
    t.comment(`${runs} runs, ${requests} requests in ${Date.now() - started} ms`);
    t.comment(
      [...codes]
        .sort()
        .map(([k, v]) => `${k}: ${v}`)
        .join(', '),
    );
    t.ok(
      ['201 receipt', '201 invoice', '422 uom_not_exact'].every((k) => codes.has(k)),
      'exact conversions and refusals were both exercised',
    );
  },
);
