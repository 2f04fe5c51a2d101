// One request never fails another (docs/invariants.md): honest clients post stock moves while
// hostile ones, at the same moment and on the same SKUs, send what every layer must refuse —
// unstorable text, JSON nested 10,000 deep, malformed JSON, forbidden warehouses, unknown items,
// over-issuance, reused keys, forged tokens. Property: every honest posting succeeds exactly once,
// every hostile one gets a 4xx problem, and the stock is exactly what the honest ones made it.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import fc from 'fast-check';
import { startStockServer } from './helpers/stock.ts';
import { mintToken } from './helpers/auth.ts';

const WAREHOUSES = ['WH-A', 'WH-B'];
const ITEMS = ['sku-1', 'sku-2'];
const START = 1_000_000;

type Honest = {
  kind: 'honest';
  client: number;
  type: 'RECEIPT' | 'ISSUE';
  wh: string;
  item: string;
  qty: number;
};
type Hostile = { kind: 'hostile'; how: string; client: number; wh: string; item: string };

const honest: fc.Arbitrary<Honest> = fc.record({
  kind: fc.constant('honest' as const),
  client: fc.integer({ min: 0, max: 3 }),
  type: fc.constantFrom('RECEIPT' as const, 'ISSUE' as const),
  wh: fc.constantFrom(...WAREHOUSES),
  item: fc.constantFrom(...ITEMS),
  qty: fc.integer({ min: 1, max: 20 }),
});
const HOW = [
  'lone surrogate',
  'nul',
  'deep json',
  'malformed json',
  'forbidden warehouse',
  'unknown item',
  'over-issuance',
  'reused key',
  'forged token',
  'negative qty',
] as const;
const hostile: fc.Arbitrary<Hostile> = fc.record({
  kind: fc.constant('hostile' as const),
  how: fc.constantFrom(...HOW),
  client: fc.integer({ min: 4, max: 5 }),
  wh: fc.constantFrom(...WAREHOUSES),
  item: fc.constantFrom(...ITEMS),
});

const moveBody = (type: string, wh: string, item: string, qty: number, reference = 'ok') =>
  JSON.stringify({
    type,
    ...(type === 'RECEIPT' ? { to_wh: wh } : { from_wh: wh }),
    reason: 'property',
    reference,
    lines: [{ item_id: item, qty }],
  });

t.test(
  'hostile postings beside honest ones: each honest one succeeds, each hostile one is refused alone',
  async (t) => {
    const { s, api } = await startStockServer(t, WAREHOUSES, { 'sku-1': 'NONE', 'sku-2': 'NONE' });
    for (const wh of WAREHOUSES)
      for (const item of ITEMS) {
        const { response } = await api.POST('/inventory/stock-moves', {
          body: {
            type: 'RECEIPT',
            to_wh: wh,
            reason: 'start',
            lines: [{ item_id: item, qty: START }],
          },
          params: { header: { 'Idempotency-Key': randomUUID() } },
        });
        if (response.status !== 201) throw new Error('seeding stock failed');
      }
    // A key an honest client used, for hostile clients that reuse it with another body.
    const usedKey = randomUUID();
    const ownerToken = mintToken({ client_id: 'client-4', sub: 'client-4' });
    await s.request('/inventory/stock-moves', {
      method: 'POST',
      token: null,
      headers: {
        authorization: `Bearer ${ownerToken}`,
        'content-type': 'application/json',
        'idempotency-key': usedKey,
      },
      body: moveBody('RECEIPT', 'WH-A', 'sku-1', 1),
    });
    const expected = new Map<string, number>();
    for (const wh of WAREHOUSES) for (const item of ITEMS) expected.set(`${wh}/${item}`, START);
    expected.set('WH-A/sku-1', START + 1);
    let honestPosted = 0;

    const send = (body: string, token: string, key = randomUUID()) =>
      s.request('/inventory/stock-moves', {
        method: 'POST',
        token: null,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'idempotency-key': key,
        },
        body,
      });

    const attack = (h: Hostile): Promise<Response> => {
      const client = `client-${h.client}`;
      const token = mintToken({ client_id: client, sub: client });
      switch (h.how) {
        case 'lone surrogate':
          return send(moveBody('RECEIPT', h.wh, h.item, 1, 'x\ud800'), token);
        case 'nul':
          return send(moveBody('RECEIPT', h.wh, h.item, 1, 'x\u0000y'), token);
        case 'deep json':
          return send(`${'['.repeat(10_000)}${']'.repeat(10_000)}`, token);
        case 'malformed json':
          return send('{"type":"RECEIPT",', token);
        case 'forbidden warehouse':
          return send(
            moveBody('RECEIPT', h.wh, h.item, 1),
            mintToken({ client_id: client, sub: client, warehouses: ['WH-C'] }),
          );
        case 'unknown item':
          return send(moveBody('RECEIPT', h.wh, 'no-such-item', 1), token);
        case 'over-issuance':
          return send(moveBody('ISSUE', h.wh, h.item, START * 10), token);
        case 'reused key':
          return send(moveBody('RECEIPT', 'WH-A', 'sku-1', 2), ownerToken, usedKey);
        case 'forged token':
          return send(moveBody('RECEIPT', h.wh, h.item, 1), `${token.slice(0, -4)}AAAA`);
        default:
          return send(moveBody('RECEIPT', h.wh, h.item, -5), token);
      }
    };

    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(honest, hostile), { minLength: 10, maxLength: 40 }),
        async (mix) => {
          const answers = await Promise.all(
            mix.map((p) =>
              p.kind === 'honest'
                ? send(
                    moveBody(p.type, p.wh, p.item, p.qty),
                    mintToken({ client_id: `client-${p.client}`, sub: `client-${p.client}` }),
                  )
                : attack(p),
            ),
          );
          for (const [i, p] of mix.entries()) {
            const res = answers[i];
            const text = await res.text();
            if (p.kind === 'honest') {
              if (res.status !== 201)
                throw new Error(`honest ${JSON.stringify(p)} → ${res.status} ${text}`);
              const key = `${p.wh}/${p.item}`;
              expected.set(key, (expected.get(key) ?? 0) + (p.type === 'RECEIPT' ? p.qty : -p.qty));
              honestPosted++;
            } else if (
              res.status < 400 ||
              res.status >= 500 ||
              !/problem\+json/.test(res.headers.get('content-type') ?? '')
            ) {
              throw new Error(`hostile ${p.how} → ${res.status} ${text.slice(0, 200)}`);
            }
          }
        },
      ),
      { numRuns: 8 },
    );

    const levels = await s.sql<{ warehouse_id: string; item_id: string; on_hand: string }[]>`
    SELECT warehouse_id, item_id, on_hand::text FROM stock_levels`;
    for (const l of levels)
      t.equal(
        Number(l.on_hand),
        expected.get(`${l.warehouse_id}/${l.item_id}`),
        `${l.warehouse_id}/${l.item_id}: only honest postings count`,
      );
    const [{ n }] = await s.sql`SELECT count(*)::int AS n FROM stock_moves`;
    t.equal(
      n,
      WAREHOUSES.length * ITEMS.length + 1 + honestPosted,
      'one move per honest posting, none for hostile ones',
    );
  },
);
