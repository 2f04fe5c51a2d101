// Fixtures for procurement tests: a warehouse, one item of each tracking kind, two vendors, and
// short ways to make purchase orders in a given state through the SDK.
import { randomUUID } from 'node:crypto';
import type { ApiClient, components } from '../../generated/client.ts';

type PurchaseOrder = components['schemas']['PurchaseOrder'];
type PurchaseOrderCreate = components['schemas']['PurchaseOrderCreate'];

/** A fresh Idempotency-Key header. */
export const ik = () => ({ 'Idempotency-Key': randomUUID() });

/** Fails loudly with the problem body when a call did not succeed. */
export function ok<T>(res: { data?: T; error?: unknown; response: Response }): T {
  if (res.data === undefined)
    throw new Error(`${res.response.status}: ${JSON.stringify(res.error)}`);
  return res.data;
}

export async function seedCatalogue(api: ApiClient): Promise<void> {
  ok(await api.POST('/inventory/warehouses', { body: { id: 'WH-A', name: 'Main' } }));
  ok(await api.POST('/inventory/warehouses', { body: { id: 'WH-B', name: 'Overflow' } }));
  ok(
    await api.POST('/inventory/items', {
      body: { id: 'bolt', sku: 'BOLT-M8', name: 'Hex bolt M8', uom: 'EA', track_by: 'NONE' },
    }),
  );
  ok(
    await api.POST('/inventory/items', {
      body: { id: 'glue', sku: 'GLUE-500', name: 'Epoxy glue', uom: 'EA', track_by: 'BATCH' },
    }),
  );
  ok(
    await api.POST('/inventory/items', {
      body: { id: 'drill', sku: 'DRILL-1', name: 'Cordless drill', uom: 'EA', track_by: 'SERIAL' },
    }),
  );
  ok(
    await api.POST('/procurement/vendors', {
      body: { id: 'ven_fast', name: 'Fasteners NV', currency: 'EUR' },
    }),
  );
  ok(
    await api.POST('/procurement/vendors', {
      body: { id: 'ven_tools', name: 'Tools Inc', currency: 'USD' },
    }),
  );
}

export async function createPo(
  api: ApiClient,
  body: Partial<PurchaseOrderCreate> = {},
): Promise<PurchaseOrder> {
  return ok(
    await api.POST('/procurement/purchase-orders', {
      params: { header: ik() },
      body: {
        vendor_id: 'ven_fast',
        lines: [{ item_id: 'bolt', qty: 10, unit_price: '0.50' }],
        ...body,
      },
    }),
  );
}

export async function sendPo(api: ApiClient, po: PurchaseOrder): Promise<PurchaseOrder> {
  return ok(
    await api.POST('/procurement/purchase-orders/{id}/send', {
      params: { path: { id: po.id }, header: { ...ik(), 'If-Match': po.etag } },
    }),
  );
}

/** A SENT purchase order. */
export async function sentPo(
  api: ApiClient,
  body: Partial<PurchaseOrderCreate> = {},
): Promise<PurchaseOrder> {
  return sendPo(api, await createPo(api, body));
}

type ReceiptLineInput = components['schemas']['ReceiptLineInput'];

/** Posts a receipt (201 expected) into WH-A unless told otherwise. */
export async function receive(
  api: ApiClient,
  po: PurchaseOrder,
  lines: ReceiptLineInput[],
  warehouse_id = 'WH-A',
) {
  return ok(
    await api.POST('/procurement/receipts', {
      params: { header: ik() },
      body: { po_id: po.id, warehouse_id, lines },
    }),
  );
}
