import { createApiClient } from '../../generated/client.ts';
import { ok } from '../helpers/procurement.ts';

const WAREHOUSES = ['WH-A', 'WH-B', 'WH-C'];
export const ITEMS = Array.from({ length: 12 }, (_, i) => `chaos-${i + 1}`);

export interface PoLine {
  po_id: string;
  po_line_id: string;
}

/** What the chaos load works on: stocked items in warehouses, and open purchase-order lines to receive against. */
export interface ChaosCatalogue {
  items: string[];
  warehouses: string[];
  poLines: PoLine[];
}

/**
 * Warehouses and items with stock, and sent purchase orders with plenty left to receive, created
 * through the API (so the ledger is the only source of stock).
 */
export async function seedChaos(url: string, token: string): Promise<ChaosCatalogue> {
  const api = createApiClient({ baseUrl: url, token });
  for (const id of WAREHOUSES)
    ok(await api.POST('/inventory/warehouses', { body: { id, name: id } }));
  for (const id of ITEMS)
    ok(
      await api.POST('/inventory/items', {
        body: { id, sku: id.toUpperCase(), name: `Chaos ${id}`, uom: 'EA', track_by: 'NONE' },
      }),
    );
  for (const to_wh of WAREHOUSES) {
    const res = await api.POST('/inventory/stock-moves', {
      params: { header: { 'Idempotency-Key': `seed-${to_wh}` } },
      body: {
        type: 'RECEIPT',
        to_wh,
        reference: 'chaos seed',
        lines: ITEMS.map((item_id) => ({ item_id, qty: 200 })),
      },
    });
    if (res.response.status !== 201)
      throw new Error(`seeding failed: ${JSON.stringify(res.error)}`);
  }
  const vendor = ok(
    await api.POST('/procurement/vendors', { body: { name: 'Chaos vendor', currency: 'EUR' } }),
  );
  const poLines: PoLine[] = [];
  for (let o = 0; o < 4; o++) {
    const po = ok(
      await api.POST('/procurement/purchase-orders', {
        params: { header: { 'Idempotency-Key': `seed-po-${o}` } },
        body: {
          vendor_id: vendor.id,
          lines: ITEMS.slice(o * 3, o * 3 + 3).map((item_id) => ({
            item_id,
            qty: 1_000_000,
            unit_price: '2.50',
          })),
        },
      }),
    );
    ok(
      await api.POST('/procurement/purchase-orders/{id}/send', {
        params: {
          path: { id: po.id },
          header: { 'If-Match': po.etag, 'Idempotency-Key': `seed-send-${o}` },
        },
      }),
    );
    poLines.push(...po.lines.map((line) => ({ po_id: po.id, po_line_id: line.id })));
  }
  return { items: ITEMS, warehouses: WAREHOUSES, poLines };
}
