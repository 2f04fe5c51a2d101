// The whole flow an integration goes through, against a running server, with the typed SDK
// (@inventory-api/sdk): two warehouses, three items (untracked, batch- and serial-tracked), a
// vendor, a purchase order that is sent and received, a transfer, the stock levels afterwards, and
// a webhook: it registers an endpoint pointing at a small receiver it starts on loopback, waits for
// the transfer's `inventory.stock_move.posted` event and verifies its signature.
//
//   API_URL=http://127.0.0.1:3000 \
//   API_TOKEN=$(npm run -s token -- --scope "inventory:read inventory:write procurement:write procurement:approve webhooks:manage") \
//   npx tsx examples/flow.ts
//
// The server delivers to a loopback address only when started with WEBHOOK_ALLOW_PRIVATE=1.
// Every run makes its own ids (EX-<run>-...), so it can run again and again; it exits 1 on the
// first thing that does not go as described here.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { isDeepStrictEqual } from 'node:util';
import { createApiClient } from '@inventory-api/sdk';
import { verifyWebhook } from './verify-webhook.ts';

const baseUrl = process.env.API_URL ?? 'http://127.0.0.1:3000';
const token = process.env.API_TOKEN;
if (!token) {
  console.error(
    'Set API_TOKEN to a token with the scopes inventory:read inventory:write procurement:write procurement:approve webhooks:manage (locally: npm run token).',
  );
  process.exit(2);
}
const api = createApiClient({ baseUrl, token });

const run = Date.now().toString(36).toUpperCase();
const code = (name: string) => `EX-${run}-${name}`;
// A fresh key per posting. A real integration keeps it with the request, to retry with the same key.
const idempotent = () => ({ 'Idempotency-Key': randomUUID() });

/** The data of a successful call; the problem document of a failed one, as an error. */
function ok<T>(what: string, res: { data?: T; error?: unknown; response: Response }): T {
  if (res.data !== undefined) return res.data;
  const problem = res.error as { type?: string; detail?: string } | undefined;
  throw new Error(
    `${what}: HTTP ${res.response.status} ${problem?.type ?? ''} ${problem?.detail ?? ''}`.trim(),
  );
}

function check(what: string, actual: unknown, expected: unknown) {
  if (!isDeepStrictEqual(actual, expected))
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
}

/** An HTTP receiver on a loopback port that answers 204 at once and keeps what it got. */
async function startReceiver() {
  const received: Delivery[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body }); // the raw body: the signature covers its exact bytes
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hooks/inventory`,
    /** The first delivery `matches` accepts, waiting up to `timeoutMs` for it. */
    async next(matches: (d: Delivery) => boolean, timeoutMs = 30_000): Promise<Delivery> {
      for (
        const deadline = Date.now() + timeoutMs;
        Date.now() < deadline;
        await new Promise((r) => setTimeout(r, 50))
      ) {
        const found = received.find(matches);
        if (found) return found;
      }
      throw new Error(
        `no matching webhook within ${timeoutMs / 1000} s (received ${received.length}); is the server started with WEBHOOK_ALLOW_PRIVATE=1?`,
      );
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const receiver = await startReceiver();
let endpointId: string | undefined;
try {
  // 1. Subscribe to stock moves. The secret is shown only now: keep it to verify deliveries.
  const endpoint = ok(
    'register webhook endpoint',
    await api.POST('/webhooks/endpoints', {
      body: {
        url: receiver.url,
        events: ['inventory.stock_move.posted'],
        description: `examples/flow.ts run ${run}`,
      },
    }),
  );
  endpointId = endpoint.id;
  console.log(`webhook endpoint ${endpoint.id} → ${endpoint.url}`);

  // 2. Master data: warehouses, items of each tracking kind, a vendor.
  const [main, depot] = [code('MAIN'), code('DEPOT')];
  for (const [id, name] of [
    [main, 'Main warehouse'],
    [depot, 'Depot'],
  ]) {
    ok(`create warehouse ${id}`, await api.POST('/inventory/warehouses', { body: { id, name } }));
  }
  const items = {
    bolt: ok(
      'create bolt',
      await api.POST('/inventory/items', {
        body: {
          id: code('BOLT'),
          sku: code('BOLT'),
          name: 'Hex bolt M8x40',
          uom: 'EA',
          track_by: 'NONE',
        },
      }),
    ),
    glue: ok(
      'create glue',
      await api.POST('/inventory/items', {
        body: {
          id: code('GLUE'),
          sku: code('GLUE'),
          name: 'Epoxy glue 500 ml',
          uom: 'EA',
          track_by: 'BATCH',
        },
      }),
    ),
    drill: ok(
      'create drill',
      await api.POST('/inventory/items', {
        body: {
          id: code('DRILL'),
          sku: code('DRILL'),
          name: 'Cordless drill 18 V',
          uom: 'EA',
          track_by: 'SERIAL',
        },
      }),
    ),
  };
  const vendor = ok(
    'create vendor',
    await api.POST('/procurement/vendors', {
      body: { name: `Example supplier ${run}`, currency: 'EUR' },
    }),
  );
  console.log(
    `warehouses ${main}, ${depot}; items ${Object.values(items)
      .map((i) => `${i.id} (${i.track_by})`)
      .join(', ')}; vendor ${vendor.id}`,
  );

  // 3. Order from the vendor, then send the order (If-Match: the ETag we hold).
  let po = ok(
    'create purchase order',
    await api.POST('/procurement/purchase-orders', {
      params: { header: idempotent() },
      body: {
        vendor_id: vendor.id,
        // Where the goods go: receipts must name it, and warehouse-restricted tokens see the order through it.
        ship_to_warehouse_id: main,
        lines: [
          { item_id: items.bolt.id, qty: 100, unit_price: '0.12' },
          { item_id: items.glue.id, qty: 24, unit_price: '8.50' },
          { item_id: items.drill.id, qty: 2, unit_price: '129.00' },
        ],
      },
    }),
  );
  po = ok(
    'send purchase order',
    await api.POST('/procurement/purchase-orders/{id}/send', {
      params: { path: { id: po.id }, header: { ...idempotent(), 'If-Match': po.etag } },
    }),
  );
  console.log(`purchase order ${po.number} (${po.id}) ${po.status}`);

  // 4. Receive all of it into the main warehouse: the glue as one batch, the drills by serial number.
  const lineOf = (itemId: string) => {
    const line = po.lines.find((l) => l.item_id === itemId);
    if (!line) throw new Error(`purchase order ${po.number} has no line for ${itemId}`);
    return line.id;
  };
  const drills = [`${code('SN')}-1`, `${code('SN')}-2`];
  const receipt = ok(
    'post receipt',
    await api.POST('/procurement/receipts', {
      params: { header: idempotent() },
      body: {
        po_id: po.id,
        warehouse_id: main,
        lines: [
          { po_line_id: lineOf(items.bolt.id), qty_received: 100 },
          {
            po_line_id: lineOf(items.glue.id),
            qty_received: 24,
            batch: 'B-1',
            expires_at: '2028-06-30T00:00:00Z',
          },
          { po_line_id: lineOf(items.drill.id), qty_received: 2, serials: drills },
        ],
      },
    }),
  );
  po = ok(
    'read purchase order',
    await api.GET('/procurement/purchase-orders/{id}', { params: { path: { id: po.id } } }),
  );
  console.log(
    `receipt ${receipt.id} ${receipt.status}; purchase order now ${po.status}, match ${receipt.match?.status ?? '(not visible to this token)'}`,
  );
  check('purchase order status after receiving everything', po.status, 'RECEIVED');

  // 5. Move part of it to the depot: one posting, all lines or none.
  const transfer = ok(
    'post transfer',
    await api.POST('/inventory/stock-moves', {
      params: { header: idempotent() },
      body: {
        type: 'TRANSFER',
        from_wh: main,
        to_wh: depot,
        reference: `examples/flow.ts ${run}`,
        lines: [
          { item_id: items.bolt.id, qty: 40 },
          { item_id: items.glue.id, qty: 6, batch: 'B-1' },
          { item_id: items.drill.id, qty: 1, serials: [drills[0]] },
        ],
      },
    }),
  );
  console.log(`transfer ${transfer.id} ${transfer.status}`);

  // 6. Stock check: what each warehouse holds now.
  for (const [warehouse, expected] of [
    [main, { [items.bolt.id]: 60, [items.glue.id]: 18, [items.drill.id]: 1 }],
    [depot, { [items.bolt.id]: 40, [items.glue.id]: 6, [items.drill.id]: 1 }],
  ] as const) {
    const levels = ok(
      'stock levels',
      await api.GET('/inventory/stock-levels', { params: { query: { warehouse_id: warehouse } } }),
    );
    const onHand = Object.fromEntries(levels.data.map((level) => [level.item_id, level.on_hand]));
    console.log(
      `stock in ${warehouse}: ${levels.data.map((l) => `${l.item_id} ${l.on_hand} on hand, ${l.available} available`).join('; ')}`,
    );
    check(`stock in ${warehouse}`, onHand, expected);
  }

  // 7. The transfer's event reaches the receiver; verify its signature before trusting it.
  const delivery = await receiver.next((d) => JSON.parse(d.body).data?.id === transfer.id);
  const event = verifyWebhook([endpoint.secret], delivery.headers, delivery.body);
  console.log(`webhook ${event.type} ${event.id} for ${transfer.id}: signature verified`);
  console.log('OK: the whole flow ran');
} catch (err) {
  console.error(`FAILED: ${err instanceof Error ? err.message : err}`);
  process.exitCode = 1;
} finally {
  // Stop deliveries to a receiver that is about to go away.
  if (endpointId)
    await api.DELETE('/webhooks/endpoints/{id}', { params: { path: { id: endpointId } } });
  await receiver.close();
}
