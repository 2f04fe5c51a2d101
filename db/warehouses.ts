import type { Db } from './client.ts';
import { keysetOrder, keysetWhere, type Keyset } from './keyset.ts';

export interface Warehouse {
  id: string;
  name: string;
  active: boolean;
  version: number;
  created_at: string;
  updated_at: string;
}

const columns = (db: Db) => db`id, name, active, version, created_at, updated_at`;

/** Inserts the warehouse; null when the id is taken. */
export async function insertWarehouse(
  db: Db,
  w: { id: string; name: string; active: boolean },
): Promise<Warehouse | null> {
  const [row] = await db<Warehouse[]>`
    INSERT INTO warehouses (id, name, active) VALUES (${w.id}, ${w.name}, ${w.active})
    ON CONFLICT (id) DO NOTHING
    RETURNING ${columns(db)}`;
  return row ?? null;
}

export async function findWarehouse(
  db: Db,
  id: string,
  { lock = false } = {},
): Promise<Warehouse | null> {
  const [row] = await db<Warehouse[]>`
    SELECT ${columns(db)} FROM warehouses WHERE id = ${id} ${lock ? db`FOR UPDATE` : db``}`;
  return row ?? null;
}

export async function updateWarehouse(
  db: Db,
  id: string,
  f: { name: string; active: boolean },
): Promise<Warehouse> {
  const [row] = await db<Warehouse[]>`
    UPDATE warehouses SET name = ${f.name}, active = ${f.active}, version = version + 1, updated_at = now()
    WHERE id = ${id}
    RETURNING ${columns(db)}`;
  return row;
}

export async function findWarehouses(db: Db, ids: string[]): Promise<Warehouse[]> {
  return db<Warehouse[]>`SELECT ${columns(db)} FROM warehouses WHERE id = ANY(${ids}::text[])`;
}

export async function listWarehouses(
  db: Db,
  f: {
    active?: boolean;
    allowed: string[] | null;
    keyset: Keyset;
    after: unknown[] | null;
    limit: number;
  },
): Promise<Warehouse[]> {
  return db<Warehouse[]>`
    SELECT ${columns(db)} FROM warehouses
    WHERE true
      ${f.active === undefined ? db`` : db`AND active = ${f.active}`}
      ${f.allowed === null ? db`` : db`AND id = ANY(${f.allowed})`}
      ${keysetWhere(db, f.keyset, f.after)}
    ${keysetOrder(db, f.keyset)}
    LIMIT ${f.limit + 1}`;
}
