import type { Db } from './client.ts';
import { BY_ID_C, keysetOrder, keysetWhere, type Keyset } from './keyset.ts';

/** 1 `uom` = numerator/denominator stock units (handlers/lib/units.ts converts with it). */
export interface UomConversion {
  uom: string;
  numerator: number;
  denominator: number;
}

export interface ItemRow {
  id: string;
  sku: string;
  name: string;
  uom: string;
  uom_conversions: UomConversion[];
  integral: boolean;
  track_by: 'BATCH' | 'SERIAL' | 'NONE';
  active: boolean;
  version: number;
  created_at: string;
  updated_at: string;
}

export type ItemFields = Pick<
  ItemRow,
  'sku' | 'name' | 'uom' | 'uom_conversions' | 'integral' | 'track_by' | 'active'
>;

const columns = (db: Db) =>
  db`id, sku, name, uom, uom_conversions, integral, track_by, active, version, created_at, updated_at`;

/** Inserts the item; null when its id or sku is taken (see whichConflict). */
export async function insertItem(db: Db, id: string, f: ItemFields): Promise<ItemRow | null> {
  const [row] = await db<ItemRow[]>`
    INSERT INTO items (id, sku, name, uom, uom_conversions, integral, track_by, active)
    VALUES (${id}, ${f.sku}, ${f.name}, ${f.uom}, ${db.json(f.uom_conversions as never)}, ${f.integral}, ${f.track_by}, ${f.active})
    ON CONFLICT DO NOTHING
    RETURNING ${columns(db)}`;
  return row ?? null;
}

/** Another item (not `exceptId`) with this sku, compared case-insensitively as the unique index does. */
export async function skuTaken(db: Db, sku: string, exceptId?: string): Promise<boolean> {
  const rows =
    await db`SELECT 1 FROM items WHERE lower(sku) = lower(${sku}) ${exceptId ? db`AND id <> ${exceptId}` : db``}`;
  return rows.length > 0;
}

export async function findItem(db: Db, id: string, { lock = false } = {}): Promise<ItemRow | null> {
  const [row] = await db<
    ItemRow[]
  >`SELECT ${columns(db)} FROM items WHERE id = ${id} ${lock ? db`FOR UPDATE` : db``}`;
  return row ?? null;
}

export async function findItems(db: Db, ids: string[]): Promise<ItemRow[]> {
  return db<ItemRow[]>`SELECT ${columns(db)} FROM items WHERE id = ANY(${ids}::text[])`;
}

/** The items a purchase order's lines order. */
export async function findItemsOfOrder(db: Db, poId: string): Promise<ItemRow[]> {
  return db<
    ItemRow[]
  >`SELECT ${columns(db)} FROM items WHERE id IN (SELECT item_id FROM purchase_order_lines WHERE po_id = ${poId})`;
}

/** Whether the item ever had stock: then its tracking kind is part of its history and cannot change. */
export async function itemHasHistory(db: Db, id: string): Promise<boolean> {
  const [row] = await db`
    SELECT EXISTS (SELECT 1 FROM stock_levels WHERE item_id = ${id})
        OR EXISTS (SELECT 1 FROM stock_move_lines WHERE item_id = ${id}) AS used`;
  return row.used;
}

export async function updateItem(db: Db, id: string, f: ItemFields): Promise<ItemRow> {
  const [row] = await db<ItemRow[]>`
    UPDATE items SET sku = ${f.sku}, name = ${f.name}, uom = ${f.uom}, uom_conversions = ${db.json(f.uom_conversions as never)},
                     integral = ${f.integral}, track_by = ${f.track_by}, active = ${f.active},
                     version = version + 1, updated_at = now()
    WHERE id = ${id}
    RETURNING ${columns(db)}`;
  return row;
}

export interface ItemFilters {
  search?: string;
  warehouse?: string;
  active?: boolean;
  after?: unknown[] | null;
  /** The id order (BY_ID_C) unless given. */
  keyset?: Keyset;
  limit: number;
}

/**
 * Which of `itemIds` the warehouse holds stock of (on_hand > 0, as listItems' warehouse filter),
 * looked up by the stock_levels primary key: its cost follows the number of ids, never the catalogue.
 */
export async function stockedIn(
  db: Db,
  warehouseId: string,
  itemIds: string[],
): Promise<Set<string>> {
  const rows = await db<{ item_id: string }[]>`
    SELECT item_id FROM stock_levels
    WHERE item_id = ANY(${itemIds}::text[]) AND warehouse_id = ${warehouseId} AND on_hand > 0`;
  return new Set(rows.map((r) => r.item_id));
}

function likePattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * Items in id order, by the C collation whatever the database's default: the order the search index
 * pages in (db/item-index.ts), so that both answer the same pages. items_id_c (migration 0011)
 * serves it. Requests never pass `search` (the index answers those, see
 * docs/decisions/0010-in-memory-item-search-index.md): it is the definition the index's answers
 * are tested against.
 */
export async function listItems(db: Db, f: ItemFilters): Promise<ItemRow[]> {
  return db<ItemRow[]>`
    SELECT ${columns(db)} FROM items i
    WHERE true
      ${f.search === undefined ? db`` : db`AND (lower(sku) || ' ' || lower(name)) LIKE ${likePattern(f.search)}`}
      ${f.warehouse === undefined ? db`` : db`AND EXISTS (SELECT 1 FROM stock_levels s WHERE s.item_id = i.id AND s.warehouse_id = ${f.warehouse} AND s.on_hand > 0)`}
      ${f.active === undefined ? db`` : db`AND active = ${f.active}`}
      ${keysetWhere(db, f.keyset ?? BY_ID_C, f.after ?? null)}
    ${keysetOrder(db, f.keyset ?? BY_ID_C)}
    LIMIT ${f.limit + 1}`;
}
