// Items, warehouses and vendors a request names, loaded in one query per kind, and the 422 field
// errors for those that are unknown or inactive (stock never moves for them, nothing is ordered
// from them); currencies must be ISO 4217.
import { findItems, type ItemRow } from '../../db/items.ts';
import { findVendors, type VendorRow } from '../../db/vendors.ts';
import { findWarehouses, type Warehouse } from '../../db/warehouses.ts';
import { allInOrder, type Db } from '../../db/client.ts';
import type { FieldError } from '../../domain/problems.ts';

export interface References {
  items: Map<string, ItemRow>;
  warehouses: Map<string, Warehouse>;
}

export async function loadReferences(
  db: Db,
  itemIds: string[],
  warehouseIds: string[],
): Promise<References> {
  // A kind with nothing to look up costs no query.
  const [items, warehouses] = await allInOrder([
    itemIds.length ? findItems(db, [...new Set(itemIds)]) : [],
    warehouseIds.length ? findWarehouses(db, [...new Set(warehouseIds)]) : [],
  ]);
  return referencesOf(items, warehouses);
}

export function referencesOf(items: ItemRow[], warehouses: Warehouse[]): References {
  return {
    items: new Map(items.map((i) => [i.id, i])),
    warehouses: new Map(warehouses.map((w) => [w.id, w])),
  };
}

function referenceError(
  kind: 'item' | 'warehouse' | 'vendor',
  found: { active: boolean } | undefined,
  id: string,
  pointer: string,
): FieldError[] {
  if (!found) return [{ pointer, code: `unknown_${kind}`, detail: `No ${kind} ${id} exists.` }];
  if (!found.active)
    return [{ pointer, code: `inactive_${kind}`, detail: `The ${kind} ${id} is inactive.` }];
  return [];
}

export const itemErrors = (refs: References, id: string, pointer: string) =>
  referenceError('item', refs.items.get(id), id, pointer);
export const warehouseErrors = (refs: References, id: string, pointer: string) =>
  referenceError('warehouse', refs.warehouses.get(id), id, pointer);

/** Errors for lines whose item_id names no item, or an inactive one. */
export const lineItemErrors = (
  refs: References,
  lines: { item_id: string }[],
  pointer: (index: number) => string,
) => lines.flatMap((line, i) => itemErrors(refs, line.item_id, pointer(i)));

export async function loadVendors(db: Db, ids: string[]): Promise<Map<string, VendorRow>> {
  return new Map((await findVendors(db, [...new Set(ids)])).map((v) => [v.id, v]));
}

export const vendorErrors = (vendors: Map<string, VendorRow>, id: string, pointer: string) =>
  referenceError('vendor', vendors.get(id), id, pointer);

// The schema only checks the shape (three capital letters); the runtime knows the real codes.
const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

export function currencyErrors(code: string | undefined, pointer: string): FieldError[] {
  if (code === undefined || CURRENCIES.has(code)) return [];
  return [
    { pointer, code: 'unknown_currency', detail: `${code} is not an ISO 4217 currency code.` },
  ];
}
