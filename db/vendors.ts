import type { Db } from './client.ts';
import { keysetOrder, keysetWhere, type Keyset } from './keyset.ts';

export interface VendorRow {
  id: string;
  name: string;
  currency: string;
  email: string | null;
  active: boolean;
  /** Fractions as exact decimal text; null: the server-wide price tolerance, no qty tolerance. */
  price_tolerance: string | null;
  qty_tolerance: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}

const columns = (db: Db) =>
  db`id, name, currency, email, active, price_tolerance::text, qty_tolerance::text, version, created_at, updated_at`;

/** Inserts the vendor; null when the id is taken. */
export async function insertVendor(
  db: Db,
  v: Pick<VendorRow, 'id' | VendorField>,
): Promise<VendorRow | null> {
  const [row] = await db<VendorRow[]>`
    INSERT INTO vendors (id, name, currency, email, active, price_tolerance, qty_tolerance)
    VALUES (${v.id}, ${v.name}, ${v.currency}, ${v.email}, ${v.active}, ${v.price_tolerance}::numeric, ${v.qty_tolerance}::numeric)
    ON CONFLICT (id) DO NOTHING
    RETURNING ${columns(db)}`;
  return row ?? null;
}

export type VendorField =
  | 'name'
  | 'currency'
  | 'email'
  | 'active'
  | 'price_tolerance'
  | 'qty_tolerance';

export async function findVendor(
  db: Db,
  id: string,
  { lock = false } = {},
): Promise<VendorRow | null> {
  const [row] = await db<VendorRow[]>`
    SELECT ${columns(db)} FROM vendors WHERE id = ${id} ${lock ? db`FOR UPDATE` : db``}`;
  return row ?? null;
}

export async function updateVendor(
  db: Db,
  id: string,
  v: Pick<VendorRow, VendorField>,
): Promise<VendorRow> {
  const [row] = await db<VendorRow[]>`
    UPDATE vendors SET name = ${v.name}, currency = ${v.currency}, email = ${v.email}, active = ${v.active},
                       price_tolerance = ${v.price_tolerance}::numeric, qty_tolerance = ${v.qty_tolerance}::numeric,
                       version = version + 1, updated_at = now()
    WHERE id = ${id}
    RETURNING ${columns(db)}`;
  return row;
}

export async function findVendors(db: Db, ids: string[]): Promise<VendorRow[]> {
  return db<VendorRow[]>`SELECT ${columns(db)} FROM vendors WHERE id = ANY(${ids}::text[])`;
}

export async function listVendors(
  db: Db,
  f: { active?: boolean; keyset: Keyset; after: unknown[] | null; limit: number },
): Promise<VendorRow[]> {
  return db<VendorRow[]>`
    SELECT ${columns(db)} FROM vendors
    WHERE true
      ${f.active === undefined ? db`` : db`AND active = ${f.active}`}
      ${keysetWhere(db, f.keyset, f.after)}
    ${keysetOrder(db, f.keyset)}
    LIMIT ${f.limit + 1}`;
}
