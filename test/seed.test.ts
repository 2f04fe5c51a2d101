// `npm run seed` on the configured database: a small catalogue of every kind (warehouses, items
// of the three tracking kinds with stock, batches and serials, vendors, open purchase orders),
// whose stock agrees with its ledger; a second run changes nothing at all; and the spec's
// stock-move examples then post as they are.
import t from 'tap';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../server/config.ts';
import { spec } from '../server/spec.ts';
import { mintToken } from './helpers/auth.ts';
import { freshDatabase } from './helpers/db.ts';
import { databaseFingerprint } from './helpers/db-fingerprint.ts';
import { checkInvariants } from '../scripts/lib/invariants.ts';
import { spawnServer } from './helpers/process.ts';

const run = promisify(execFile);
const seed = (databaseUrl: string) =>
  run(process.execPath, ['--import', 'tsx', join(repoRoot, 'scripts/seed.ts')], {
    cwd: repoRoot,
    env: { ...process.env, DATABASE_URL: databaseUrl },
  });

t.test('npm run seed fills an empty database, and a second run adds nothing', async (t) => {
  const { url, sql } = await freshDatabase(t, { empty: true });
  const first = await seed(url);
  t.match(first.stdout, /purchase orders: 6 created, 0 already there/);
  t.match(first.stdout, /vendor returns: 1 created, 0 already there/);
  t.match(first.stdout, /status changes: 2 created, 0 already there/);
  t.match(first.stdout, /invoices: 3 created, 0 already there/);

  const [counts] = await sql`SELECT
    (SELECT count(*)::int FROM warehouses) AS warehouses,
    (SELECT count(*)::int FROM vendors) AS vendors,
    (SELECT count(*)::int FROM purchase_orders WHERE status IN ('DRAFT', 'SENT')) AS open_orders,
    (SELECT count(*)::int FROM purchase_orders WHERE status = 'RECEIVED') AS received_orders,
    (SELECT count(DISTINCT batch)::int FROM batch_levels WHERE on_hand > 0) AS batches,
    (SELECT count(*)::int FROM serials WHERE status = 'IN_STOCK') AS serials`;
  t.match(counts, {
    warehouses: 3,
    vendors: 3,
    open_orders: 3,
    received_orders: 3,
    batches: 3,
    serials: 8,
  });
  const stocked =
    await sql`SELECT DISTINCT i.track_by FROM items i JOIN stock_levels s ON s.item_id = i.id WHERE s.on_hand > 0 ORDER BY 1`;
  t.strictSame(
    stocked.map((r) => r.track_by),
    ['BATCH', 'NONE', 'SERIAL'],
    'stock of every tracking kind',
  );
  const invoices = await sql`SELECT number, type, match_status FROM invoices ORDER BY number`;
  t.strictSame(
    invoices.map((i) => [i.number, i.type, i.match_status]),
    [
      ['CN-DEMO-1001', 'CREDIT_NOTE', 'MATCHED'],
      ['INV-DEMO-1001', 'INVOICE', 'MATCHED'],
      ['INV-DEMO-2001', 'INVOICE', 'EXCEPTION'],
    ],
    'an invoice at the prices, a credit note, and one above the vendor tolerance',
  );
  const [cable] = await sql`
    SELECT pl.qty_received::float8, pl.qty_returned::float8, pl.qty_invoiced::float8, pl.qty_credited::float8
    FROM purchase_order_lines pl JOIN purchase_orders po ON po.id = pl.po_id
    WHERE po.number = 'PO-DEMO-0001' AND pl.item_id = 'CABLE-3G15'`;
  t.same(
    cable,
    { qty_received: 300, qty_returned: 40, qty_invoiced: 300, qty_credited: 40 },
    'the cable that went back is returned and credited',
  );
  const held = await sql`
    SELECT item_id, quality_control::float8, damaged::float8 FROM stock_levels
    WHERE warehouse_id = 'WH-A' AND (quality_control > 0 OR damaged > 0) ORDER BY item_id`;
  t.same(
    held,
    [
      { item_id: 'METER-DM1', quality_control: 1, damaged: 0 },
      { item_id: 'PAINT-9010', quality_control: 0, damaged: 2 },
    ],
    'held stock: a meter in quality control, dented paint',
  );
  const [revised] = await sql`
    SELECT po.revision, pl.qty::float8, pl.expected_at::text
    FROM purchase_orders po JOIN purchase_order_lines pl ON pl.po_id = po.id
    WHERE po.number = 'PO-DEMO-0005'`;
  t.same(revised, { revision: 2, qty: 3, expected_at: '2027-01-15' }, 'a change order');
  const units = await sql`
    SELECT id, uom_conversions, integral FROM items WHERE uom_conversions <> '[]' ORDER BY id`;
  t.same(
    units,
    [
      {
        id: 'CABLE-3G15',
        uom_conversions: [
          { uom: 'DRUM', numerator: 100, denominator: 1 },
          { uom: 'FT', numerator: 381, denominator: 1250 },
        ],
        integral: false,
      },
      {
        id: 'sku-1',
        uom_conversions: [{ uom: 'BOX', numerator: 100, denominator: 1 }],
        integral: true,
      },
    ],
    'bolts come by the box of 100, cable by the drum or the foot',
  );
  t.match(first.stdout, /vendor items: 2 created, 0 already there/);
  const vendorItems = await sql`
    SELECT v.id, v.item_id, v.purchase_uom, v.preferred,
      array_agg(b.min_qty::text || ' @ ' || b.unit_price::text ORDER BY b.min_qty) AS breaks
    FROM vendor_items v JOIN vendor_item_price_breaks b ON b.vendor_item_id = v.id
    GROUP BY v.id ORDER BY v.id`;
  t.same(
    vendorItems,
    [
      {
        id: 'vi-fasteners-sku-1',
        item_id: 'sku-1',
        purchase_uom: 'BOX',
        preferred: true,
        breaks: ['1 @ 12.00', '10 @ 10.50'],
      },
      {
        id: 'vi-fasteners-sku-2',
        item_id: 'sku-2',
        purchase_uom: 'EA',
        preferred: true,
        breaks: ['500 @ 0.05', '2000 @ 0.045'],
      },
    ],
    'bolts by the box and nuts from Fasteners, each with price breaks',
  );
  t.match(first.stdout, /reorder rules: 1 created, 0 already there/);
  const [van] =
    await sql`SELECT count(*)::int AS n FROM stock_levels WHERE warehouse_id = 'WH-C' AND on_hand > 0`;
  t.equal(van.n, 3, 'the transfer stocked the van');
  t.strictSame(
    (await checkInvariants(sql)).violations,
    [],
    'stock agrees with the ledger, one event and audit entry per posting',
  );

  const before = await databaseFingerprint(sql);
  const second = await seed(url);
  t.match(second.stdout, /purchase orders: 0 created, 6 already there/);
  t.match(second.stdout, /transfers: 0 created, 1 already there/);
  t.match(second.stdout, /item units: 0 created, 2 already there/);
  t.match(second.stdout, /vendor returns: 0 created, 1 already there/);
  t.match(second.stdout, /status changes: 0 created, 2 already there/);
  t.match(second.stdout, /invoices: 0 created, 3 already there/);
  t.match(second.stdout, /vendor items: 0 created, 2 already there/);
  t.match(second.stdout, /reorder rules: 0 created, 1 already there/);
  t.strictSame(await databaseFingerprint(sql), before, 'the second run changed nothing');

  // Locations: bins and docks in WH-A and WH-B besides their DEFAULT, and one putaway rule.
  t.match(first.stdout, /locations: 7 created, 0 already there/);
  t.match(first.stdout, /putaway rules: 1 created, 0 already there/);
  t.match(second.stdout, /locations: 0 created, 7 already there/);
  t.match(second.stdout, /putaway rules: 0 created, 1 already there/);
  const bins = await sql`
    SELECT warehouse_id, string_agg(code || ':' || type, ' ' ORDER BY code) AS codes
    FROM locations GROUP BY warehouse_id ORDER BY warehouse_id`;
  t.strictSame(
    bins.map((b) => [b.warehouse_id, b.codes]),
    [
      ['WH-A', 'A-01-01:STORAGE A-01-02:STORAGE DEFAULT:STORAGE RCV-1:RECEIVING SHP-1:SHIPPING'],
      ['WH-B', 'B-01-01:STORAGE B-01-02:STORAGE DEFAULT:STORAGE RCV-1:RECEIVING'],
      ['WH-C', 'DEFAULT:STORAGE'],
    ],
    'bins and docks in two warehouses',
  );
  t.strictSame(
    [...(await sql`SELECT warehouse_id, item_id, location FROM putaway_rules`)],
    [{ warehouse_id: 'WH-A', item_id: 'sku-1', location: 'A-01-01' }],
    'a putaway rule',
  );
  // Put away into bins: stock at several locations of WH-A and WH-B.
  t.match(first.stdout, /put-aways: 2 created, 0 already there/);
  t.match(second.stdout, /put-aways: 0 created, 2 already there/);
  t.strictSame(
    (
      await sql`SELECT warehouse_id, location, item_id, batch, on_hand FROM location_levels
        WHERE location <> 'DEFAULT' AND on_hand > 0 ORDER BY 1, 2, 3, 4`
    ).map((r) => [r.warehouse_id, r.location, r.item_id, r.batch, r.on_hand]),
    [
      ['WH-A', 'A-01-01', 'sku-1', '', 200],
      ['WH-A', 'A-01-02', 'GLUE-500', 'B2026-11', 10],
      ['WH-B', 'B-01-01', 'sku-1', '', 150],
    ],
    'stock put away into bins',
  );

  const server = await spawnServer(t, url);
  const examples =
    spec.paths['/inventory/stock-moves'].post.requestBody.content['application/json'].examples;
  for (const name of ['transfer', 'receipt_batch', 'issue_serials']) {
    const res = await fetch(`${server.url}/inventory/stock-moves`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${mintToken()}`,
        'content-type': 'application/json',
        'idempotency-key': `example-${name}`,
      },
      body: JSON.stringify(examples[name].value),
    });
    t.equal(res.status, 201, `the spec's ${name} example posts on the demo data`);
  }
  // The van's reorder rule is under its minimum: a run suggests what brings it up to 300 bolts,
  // as whole boxes of 100 from the preferred vendor at its first break.
  const call = async (path: string, body?: unknown) =>
    (
      await fetch(`${server.url}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: {
          authorization: `Bearer ${mintToken()}`,
          'content-type': 'application/json',
          'idempotency-key': 'seed-test-run',
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
    ).json() as Promise<any>;
  const demoRun = await call('/procurement/replenishment-runs', { warehouse_id: 'WH-C' });
  t.equal(demoRun.suggestion_count, 1, 'a run triggers the demo reorder rule');
  const suggested = await call(`/procurement/replenishment-runs/${demoRun.id}/suggestions`);
  t.match(suggested.data, [
    {
      item_id: 'sku-1',
      vendor_id: 'ven_fasteners',
      qty: 300,
      uom: 'BOX',
      uom_qty: 3,
      unit_price: '12.00',
    },
  ]);
});
