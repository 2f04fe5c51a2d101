// Setting up stock for inventory tests through the public API (the SDK), as a user would.
import { randomUUID } from 'node:crypto';
import type { Test } from 'tap';
import type { components } from '../../generated/api.ts';
import type { ApiClient } from '../../generated/client.ts';
import { startServer, type ServerOptions } from './server.ts';

type Schemas = components['schemas'];

export async function createWarehouses(api: ApiClient, ...ids: string[]): Promise<void> {
  for (const id of ids) {
    const { response, error } = await api.POST('/inventory/warehouses', {
      body: { id, name: `Warehouse ${id}` },
    });
    if (response.status !== 201)
      throw new Error(`creating warehouse ${id}: ${JSON.stringify(error)}`);
  }
}

export async function createItem(
  api: ApiClient,
  id: string,
  track_by: Schemas['TrackBy'] = 'NONE',
  extra: Partial<Schemas['ItemCreate']> = {},
): Promise<void> {
  const { response, error } = await api.POST('/inventory/items', {
    body: { id, sku: id.toUpperCase(), name: `Item ${id}`, uom: 'EA', track_by, ...extra },
  });
  if (response.status !== 201) throw new Error(`creating item ${id}: ${JSON.stringify(error)}`);
}

/** A server with these warehouses and items (id → track_by), and a client holding every scope. */
export async function startStockServer(
  t: Test,
  warehouses: string[],
  items: Record<string, Schemas['TrackBy']> = {},
  options: ServerOptions = {},
) {
  const s = await startServer(t, options);
  const api = s.client();
  await createWarehouses(api, ...warehouses);
  for (const [id, trackBy] of Object.entries(items)) await createItem(api, id, trackBy);
  return { s, api };
}

/** POST /inventory/stock-moves with a fresh (or the given) Idempotency-Key. */
export function postMove(
  api: ApiClient,
  body: Schemas['StockMoveCreate'],
  key: string = randomUUID(),
) {
  return api.POST('/inventory/stock-moves', {
    body,
    params: { header: { 'Idempotency-Key': key } },
  });
}

/** Posts a move that must succeed, and returns it. */
export async function posted(
  api: ApiClient,
  body: Schemas['StockMoveCreate'],
): Promise<Schemas['StockMove']> {
  const { data, error, response } = await postMove(api, body);
  if (response.status !== 201 || !data)
    throw new Error(`posting ${JSON.stringify(body)}: ${response.status} ${JSON.stringify(error)}`);
  return data;
}

export function reserve(
  api: ApiClient,
  body: Schemas['ReservationCreate'],
  key: string = randomUUID(),
) {
  return api.POST('/inventory/reservations', {
    body,
    params: { header: { 'Idempotency-Key': key } },
  });
}

export function reverse(api: ApiClient, id: string, key: string = randomUUID()) {
  return api.POST('/inventory/stock-moves/{id}/reverse', {
    params: { path: { id }, header: { 'Idempotency-Key': key } },
  });
}

export async function level(
  api: ApiClient,
  item_id: string,
  warehouse_id: string,
): Promise<Schemas['StockLevel'] | undefined> {
  const { data, error } = await api.GET('/inventory/stock-levels', {
    params: { query: { item_id, warehouse_id } },
  });
  if (!data) throw new Error(`reading stock level: ${JSON.stringify(error)}`);
  return data.data[0];
}
