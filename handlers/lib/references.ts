// Items and warehouses a stock request names, loaded in one query each, and the 422 field errors
// for those that are unknown or inactive (stock never moves for either).
import { findItems, type ItemRow } from '../../db/items.ts';
import { findWarehouses, type Warehouse } from '../../db/warehouses.ts';
import type { Db } from '../../db/client.ts';
import type { FieldError } from '../../server/problem.ts';

export interface References {
  items: Map<string, ItemRow>;
  warehouses: Map<string, Warehouse>;
}

export async function loadReferences(db: Db, itemIds: string[], warehouseIds: string[]): Promise<References> {
  const [items, warehouses] = await Promise.all([findItems(db, [...new Set(itemIds)]), findWarehouses(db, [...new Set(warehouseIds)])]);
  return { items: new Map(items.map((i) => [i.id, i])), warehouses: new Map(warehouses.map((w) => [w.id, w])) };
}

function referenceError(kind: 'item' | 'warehouse', found: { active: boolean } | undefined, id: string, pointer: string): FieldError[] {
  if (!found) return [{ pointer, code: `unknown_${kind}`, detail: `No ${kind} ${id} exists.` }];
  if (!found.active) return [{ pointer, code: `inactive_${kind}`, detail: `The ${kind} ${id} is inactive.` }];
  return [];
}

export const itemErrors = (refs: References, id: string, pointer: string) => referenceError('item', refs.items.get(id), id, pointer);
export const warehouseErrors = (refs: References, id: string, pointer: string) => referenceError('warehouse', refs.warehouses.get(id), id, pointer);
