import type { Db } from './client.ts';
import { keysetOrder, keysetWhere, type Keyset } from './keyset.ts';

export interface VendorRow {
  id: string;
  name: string;
  currency: string;
  email: string | null;
  active: boolean;
  created_at: string;
  updated_at: string;
}

const columns = (db: Db) => db`id, name, currency, email, active, created_at, updated_at`;

/** Inserts the vendor; null when the id is taken. */
export async function insertVendor(
  db: Db,
  v: Pick<VendorRow, 'id' | 'name' | 'currency' | 'email' | 'active'>,
): Promise<VendorRow | null> {
  const [row] = await db<VendorRow[]>`
    INSERT INTO vendors (id, name, currency, email, active) VALUES (${v.id}, ${v.name}, ${v.currency}, ${v.email}, ${v.active})
    ON CONFLICT (id) DO NOTHING
    RETURNING ${columns(db)}`;
  return row ?? null;
}

export async function findVendor(db: Db, id: string): Promise<VendorRow | null> {
  const [row] = await db<VendorRow[]>`SELECT ${columns(db)} FROM vendors WHERE id = ${id}`;
  return row ?? null;
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
