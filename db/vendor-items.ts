// Vendor items (db/migrations/0026_vendor_items.sql): the terms of buying an item from a vendor,
// with their price breaks. Money is exact: prices are selected as text.
import { must } from '../domain/must.ts';
import type { Db } from './client.ts';
import { keysetOrder, keysetWhere, type Keyset } from './keyset.ts';
import type { UomConversion } from './items.ts';

export interface PriceBreakRow {
  min_qty: number;
  /** Exact decimal text. */
  unit_price: string;
}

export interface VendorItemRow {
  id: string;
  vendor_id: string;
  item_id: string;
  vendor_sku: string | null;
  purchase_uom: string;
  min_order_qty: number | null;
  order_multiple: number | null;
  lead_time_days: number;
  currency: string;
  /** By min_qty, ascending. */
  price_breaks: PriceBreakRow[];
  preferred: boolean;
  active: boolean;
  version: number;
  created_at: string;
  updated_at: string;
  /** The item's units, which purchase_uom converts by (handlers/lib/units.ts); not shown. */
  units: { uom: string; uom_conversions: UomConversion[]; integral: boolean };
}

export type VendorItemTerms = Pick<
  VendorItemRow,
  | 'vendor_sku'
  | 'purchase_uom'
  | 'min_order_qty'
  | 'order_multiple'
  | 'lead_time_days'
  | 'currency'
  | 'preferred'
  | 'active'
>;

// The breaks as JSON: min_qty a number, unit_price exact text.
const columns = (db: Db) => db`
  v.id, v.vendor_id, v.item_id, v.vendor_sku, v.purchase_uom, v.min_order_qty, v.order_multiple,
  v.lead_time_days, v.currency, v.preferred, v.active, v.version, v.created_at, v.updated_at,
  (SELECT json_build_object('uom', i.uom, 'uom_conversions', i.uom_conversions, 'integral', i.integral)
   FROM items i WHERE i.id = v.item_id) AS units,
  (SELECT coalesce(json_agg(json_build_object('min_qty', b.min_qty, 'unit_price', b.unit_price::text)
                            ORDER BY b.min_qty), '[]'::json)
   FROM vendor_item_price_breaks b WHERE b.vendor_item_id = v.id) AS price_breaks`;

/**
 * Serializes the writers of one item's vendor items for the rest of the transaction, so that
 * "at most one preferred" is kept by un-preferring the others rather than by a unique violation:
 * two that make vendor items of the item preferred at once run one after the other (the partial
 * unique index vendor_items_one_preferred is the last line of defence).
 */
export async function lockItemVendorItems(db: Db, itemId: string): Promise<void> {
  await db`SELECT pg_advisory_xact_lock(hashtextextended(${`vendor_items:${itemId}`}, 0))`;
}

/** The vendor item of this vendor and item, or the one of this id: what a new one would collide with. */
export async function findCollision(
  db: Db,
  id: string,
  vendorId: string,
  itemId: string,
): Promise<{ id: string } | null> {
  const [row] = await db<{ id: string }[]>`
    SELECT id FROM vendor_items WHERE id = ${id} OR (vendor_id = ${vendorId} AND item_id = ${itemId})
    LIMIT 1`;
  return row ?? null;
}

export async function insertVendorItem(
  db: Db,
  v: { id: string; vendor_id: string; item_id: string } & VendorItemTerms,
  breaks: PriceBreakRow[],
): Promise<VendorItemRow> {
  await db`
    INSERT INTO vendor_items (id, vendor_id, item_id, vendor_sku, purchase_uom, min_order_qty, order_multiple,
                              lead_time_days, currency, preferred, active)
    VALUES (${v.id}, ${v.vendor_id}, ${v.item_id}, ${v.vendor_sku}, ${v.purchase_uom}, ${v.min_order_qty},
            ${v.order_multiple}, ${v.lead_time_days}, ${v.currency}, ${v.preferred}, ${v.active})`;
  await replaceBreaks(db, v.id, breaks);
  return must(await findVendorItem(db, v.id), 'vendor item written in this transaction');
}

export async function updateVendorItem(
  db: Db,
  id: string,
  v: VendorItemTerms,
  breaks: PriceBreakRow[],
): Promise<VendorItemRow> {
  await db`
    UPDATE vendor_items SET vendor_sku = ${v.vendor_sku}, purchase_uom = ${v.purchase_uom},
      min_order_qty = ${v.min_order_qty}, order_multiple = ${v.order_multiple},
      lead_time_days = ${v.lead_time_days}, currency = ${v.currency}, preferred = ${v.preferred},
      active = ${v.active}, version = version + 1, updated_at = now()
    WHERE id = ${id}`;
  await replaceBreaks(db, id, breaks);
  return must(await findVendorItem(db, id), 'vendor item written in this transaction');
}

async function replaceBreaks(db: Db, id: string, breaks: PriceBreakRow[]): Promise<void> {
  await db`DELETE FROM vendor_item_price_breaks WHERE vendor_item_id = ${id}`;
  if (breaks.length)
    await db`
      INSERT INTO vendor_item_price_breaks ${db(
        breaks.map((b) => ({ vendor_item_id: id, min_qty: b.min_qty, unit_price: b.unit_price })),
      )}`;
}

/**
 * Un-prefers the item's other preferred vendor item (at most one), moving it to its next
 * version; returns it as it is now. The caller holds lockItemVendorItems.
 */
export async function unpreferOthers(
  db: Db,
  itemId: string,
  exceptId: string,
): Promise<VendorItemRow[]> {
  const ids = await db<{ id: string }[]>`
    UPDATE vendor_items SET preferred = false, version = version + 1, updated_at = now()
    WHERE item_id = ${itemId} AND preferred AND id <> ${exceptId}
    RETURNING id`;
  return ids.length
    ? findVendorItemsByIds(
        db,
        ids.map((r) => r.id),
      )
    : [];
}

export async function findVendorItem(
  db: Db,
  id: string,
  { lock = false } = {},
): Promise<VendorItemRow | null> {
  const [row] = await db<VendorItemRow[]>`
    SELECT ${columns(db)} FROM vendor_items v WHERE v.id = ${id} ${lock ? db`FOR UPDATE OF v` : db``}`;
  return row ?? null;
}

async function findVendorItemsByIds(db: Db, ids: string[]): Promise<VendorItemRow[]> {
  return db<VendorItemRow[]>`
    SELECT ${columns(db)} FROM vendor_items v WHERE v.id = ANY(${ids}::text[]) ORDER BY v.id`;
}

/** The active vendor items of these (vendor, item) pairs. */
export async function activeVendorItems(
  db: Db,
  pairs: { vendor_id: string; item_id: string }[],
): Promise<VendorItemRow[]> {
  if (!pairs.length) return [];
  return db<VendorItemRow[]>`
    SELECT ${columns(db)} FROM vendor_items v
    JOIN unnest(${pairs.map((p) => p.vendor_id)}::text[], ${pairs.map((p) => p.item_id)}::text[]) AS k(vendor_id, item_id)
      ON v.vendor_id = k.vendor_id AND v.item_id = k.item_id
    WHERE v.active`;
}

/** The preferred vendor item of each of these items that has one. */
export async function preferredVendorItems(db: Db, itemIds: string[]): Promise<VendorItemRow[]> {
  if (!itemIds.length) return [];
  return db<VendorItemRow[]>`
    SELECT ${columns(db)} FROM vendor_items v
    WHERE v.item_id = ANY(${itemIds}::text[]) AND v.preferred`;
}

export async function listVendorItems(
  db: Db,
  f: {
    vendor_id?: string;
    item_id?: string;
    keyset: Keyset;
    after: unknown[] | null;
    limit: number;
  },
): Promise<VendorItemRow[]> {
  return db<VendorItemRow[]>`
    SELECT ${columns(db)} FROM vendor_items v
    WHERE true
      ${f.vendor_id === undefined ? db`` : db`AND v.vendor_id = ${f.vendor_id}`}
      ${f.item_id === undefined ? db`` : db`AND v.item_id = ${f.item_id}`}
      ${keysetWhere(db, f.keyset, f.after)}
    ${keysetOrder(db, f.keyset)}
    LIMIT ${f.limit + 1}`;
}
