// docs/standards.md §4: an Idempotency-Key belongs to (client_id, sub, operation), and a stored
// answer is replayed only to a caller whose warehouses claim covers the claim it was made with —
// on the keyed path (warehouses) and the group-commit path (stock moves) alike.
import t from 'tap';
import { startStockServer } from './helpers/stock.ts';

type Server = Awaited<ReturnType<typeof startStockServer>>['s'];

/** POST /inventory/warehouses (a keyed, one-transaction write) under a key, as a given token. */
const warehousePoster =
  (s: Server) => (key: string, id: string, token: Parameters<Server['token']>[0]) =>
    s.request('/inventory/warehouses', {
      method: 'POST',
      json: { id, name: id },
      token,
      headers: { 'idempotency-key': key },
    });

const move = (warehouse: string) => ({
  type: 'RECEIPT' as const,
  to_wh: warehouse,
  reason: 'delivery',
  lines: [{ item_id: 'sku-1', qty: 5 }],
});

t.test(
  'keys of one client: per user, and replayed only within the claim they were made with',
  async (t) => {
    const { s } = await startStockServer(t, ['WH-A', 'WH-B'], { 'sku-1': 'NONE' });
    const post = (key: string, json: unknown, token: Parameters<typeof s.token>[0]) =>
      s.request('/inventory/stock-moves', {
        method: 'POST',
        json,
        token,
        headers: { 'idempotency-key': key },
      });
    const alice = { client_id: 'erp', sub: 'alice' };
    const first = await post('K-1', move('WH-B'), alice);
    t.equal(first.status, 201, "alice's receipt into WH-B");
    const firstMove = (await first.json()) as { id: string };

    // Another user of the same client, restricted to WH-A, sends alice's key and body. Her own
    // request would be 403 too; what this shows is that the stored answer (version 1.0 replayed
    // it: 201) is not given to her. Bob, below, shows keys are per user.
    const mallory = await post('K-1', move('WH-B'), {
      client_id: 'erp',
      sub: 'mallory',
      warehouses: ['WH-A'],
    });
    t.equal(mallory.status, 403, "mallory gets 403, as without the key, not alice's move");
    t.equal(mallory.headers.get('idempotent-replayed'), null);
    t.notMatch(await mallory.text(), firstMove.id, "nothing of alice's move is in the answer");

    // Another unrestricted user of the client: the key is theirs too, a request of their own.
    const bob = await post('K-1', move('WH-B'), { client_id: 'erp', sub: 'bob' });
    t.equal(bob.status, 201);
    t.equal(bob.headers.get('idempotent-replayed'), null, "bob's key is not alice's: it ran");
    t.not(((await bob.json()) as { id: string }).id, firstMove.id);

    // Alice again, now with a token restricted to WH-A: her own key's answer is about WH-B.
    const narrowed = await post('K-1', move('WH-B'), { ...alice, warehouses: ['WH-A'] });
    t.equal(
      narrowed.status,
      403,
      'a narrower claim does not get the answer made under a wider one',
    );
    t.match(await narrowed.json(), {
      type: 'https://problems.inventory-api.dev/warehouse-forbidden',
    });

    const replay = await post('K-1', move('WH-B'), alice);
    t.equal(replay.status, 201);
    t.equal(replay.headers.get('idempotent-replayed'), 'true', 'alice herself gets the replay');
    t.equal(((await replay.json()) as { id: string }).id, firstMove.id);

    const [{ n }] = await s.sql`SELECT count(*)::int AS n FROM stock_moves`;
    t.equal(n, 2, "alice's and bob's moves only");
  },
);

t.test('the keyed path (one transaction per request) follows the same rule', async (t) => {
  const { s } = await startStockServer(t, ['WH-A']);
  const post = warehousePoster(s);
  t.equal((await post('K-2', 'WH-X', { client_id: 'erp', sub: 'alice' })).status, 201);
  const restricted = await post('K-2', 'WH-X', {
    client_id: 'erp',
    sub: 'alice',
    warehouses: ['WH-X'],
  });
  t.equal(restricted.status, 403, 'made unrestricted: replayed to unrestricted tokens only');
  const other = await post('K-2', 'WH-X', { client_id: 'erp', sub: 'carol' });
  t.equal(other.status, 409, "carol's request runs: the warehouse exists (409 already-exists)");
  t.equal(other.headers.get('idempotent-replayed'), null);
});

t.test(
  'keys stored before keys had a subject: honoured for their client until they expire',
  async (t) => {
    const { s } = await startStockServer(t, []);
    const post = warehousePoster(s);
    /** A key as version 1.0 stored it: no subject (''), no claim. */
    const legacy = async (key: string, id: string, expired: boolean) => {
      t.equal((await post(key, id, { client_id: 'erp', sub: 'before-the-upgrade' })).status, 201);
      await s.sql`
      UPDATE idempotency_keys SET sub = '', warehouses = NULL,
        expires_at = now() + ${expired ? '-1 hour' : '1 hour'}::interval
      WHERE key = ${key}`;
    };

    await legacy('L-1', 'WH-1', false);
    const replay = await post('L-1', 'WH-1', { client_id: 'erp', sub: 'alice' });
    t.equal(replay.headers.get('idempotent-replayed'), 'true', 'a live legacy key is replayed');
    t.match(await replay.json(), { id: 'WH-1' });
    const restricted = await post('L-1', 'WH-1', {
      client_id: 'erp',
      sub: 'alice',
      warehouses: ['WH-1'],
    });
    t.equal(restricted.status, 403, 'to unrestricted tokens only: its claim was not recorded');
    const otherClient = await post('L-1', 'WH-1', { client_id: 'other', sub: 'alice' });
    t.equal(otherClient.status, 409, "another client's key: it runs (and finds WH-1 exists)");

    await legacy('L-2', 'WH-2', true);
    const fresh = await post('L-2', 'WH-3', { client_id: 'erp', sub: 'alice' });
    t.equal(fresh.status, 201, 'an expired legacy key is not replayed: another body runs');
    const again = await post('L-2', 'WH-3', { client_id: 'erp', sub: 'alice' });
    t.equal(again.headers.get('idempotent-replayed'), 'true', "alice's own key now answers");
    t.same(await again.json(), await fresh.json());
  },
);
