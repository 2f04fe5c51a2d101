// Existence and activity of referenced catalogue rows, looked up in one query per kind, so that a
// document with many lines is validated without a query per line.
import type { Db } from './client.ts';

/** id → active, for those of `ids` that exist. */
export async function itemActivity(db: Db, ids: string[]): Promise<Map<string, boolean>> {
  const rows = await db<{ id: string; active: boolean }[]>`SELECT id, active FROM items WHERE id = ANY(${ids})`;
  return new Map(rows.map((r) => [r.id, r.active]));
}

export interface VendorRef {
  id: string;
  active: boolean;
  currency: string;
}

/** The vendors of `ids` that exist, by id. */
export async function vendorRefs(db: Db, ids: string[]): Promise<Map<string, VendorRef>> {
  const rows = await db<VendorRef[]>`SELECT id, active, currency FROM vendors WHERE id = ANY(${ids})`;
  return new Map(rows.map((r) => [r.id, r]));
}
