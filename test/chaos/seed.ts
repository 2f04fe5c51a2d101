import { createApiClient } from '../../generated/client.ts';

export const WAREHOUSES = ['WH-A', 'WH-B', 'WH-C'];
export const ITEMS = Array.from({ length: 12 }, (_, i) => `chaos-${i + 1}`);

/** Warehouses and items with stock, created through the API (so the ledger is the only source of stock). */
export async function seedChaos(url: string, token: string): Promise<void> {
  const api = createApiClient({ baseUrl: url, token });
  for (const id of WAREHOUSES) await api.POST('/inventory/warehouses', { body: { id, name: id } });
  for (const id of ITEMS) await api.POST('/inventory/items', { body: { id, sku: id.toUpperCase(), name: `Chaos ${id}`, uom: 'EA', track_by: 'NONE' } });
  for (const to_wh of WAREHOUSES) {
    const res = await api.POST('/inventory/stock-moves', {
      params: { header: { 'Idempotency-Key': `seed-${to_wh}` } },
      body: { type: 'RECEIPT', to_wh, reference: 'chaos seed', lines: ITEMS.map((item_id) => ({ item_id, qty: 200 })) },
    });
    if (res.response.status !== 201) throw new Error(`seeding failed: ${JSON.stringify(res.error)}`);
  }
}
