// Putaway rules: at which location of a warehouse an item's stock goes when it comes in without a
// location named. One per (warehouse, item); the ledger reads the table itself.
import type { Db } from './client.ts';

export interface PutawayRuleRow {
  id: string;
  warehouse_id: string;
  item_id: string;
  location: string;
  created_at: string;
  updated_at: string;
}

const columns = (db: Db) => db`id, warehouse_id, item_id, location, created_at, updated_at`;

/** Inserts the rule; null when the (warehouse, item) already has one. */
export async function insertPutawayRule(
  db: Db,
  r: Pick<PutawayRuleRow, 'id' | 'warehouse_id' | 'item_id' | 'location'> & { created_by: string },
): Promise<PutawayRuleRow | null> {
  const [row] = await db<PutawayRuleRow[]>`
    INSERT INTO putaway_rules (id, warehouse_id, item_id, location, created_by)
    VALUES (${r.id}, ${r.warehouse_id}, ${r.item_id}, ${r.location}, ${r.created_by})
    ON CONFLICT (warehouse_id, item_id) DO NOTHING
    RETURNING ${columns(db)}`;
  return row ?? null;
}

/** The rule of a (warehouse, item), locked for update; null when it has none. */
export async function lockPutawayRuleOf(
  db: Db,
  warehouseId: string,
  itemId: string,
): Promise<PutawayRuleRow | null> {
  const [row] = await db<PutawayRuleRow[]>`
    SELECT ${columns(db)} FROM putaway_rules
    WHERE warehouse_id = ${warehouseId} AND item_id = ${itemId}
    FOR UPDATE`;
  return row ?? null;
}

export async function setPutawayLocation(
  db: Db,
  id: string,
  location: string,
): Promise<PutawayRuleRow> {
  const [row] = await db<PutawayRuleRow[]>`
    UPDATE putaway_rules SET location = ${location}, updated_at = now()
    WHERE id = ${id}
    RETURNING ${columns(db)}`;
  return row;
}

export async function findPutawayRule(db: Db, id: string): Promise<PutawayRuleRow | null> {
  const [row] = await db<
    PutawayRuleRow[]
  >`SELECT ${columns(db)} FROM putaway_rules WHERE id = ${id}`;
  return row ?? null;
}

/** Deletes the rule; the row as it was, or null when there was none. */
export async function deletePutawayRule(db: Db, id: string): Promise<PutawayRuleRow | null> {
  const [row] = await db<PutawayRuleRow[]>`
    DELETE FROM putaway_rules WHERE id = ${id} RETURNING ${columns(db)}`;
  return row ?? null;
}

/** Rules in (warehouse_id, item_id) order. */
export async function listPutawayRules(
  db: Db,
  f: {
    warehouseId?: string;
    itemId?: string;
    allowed: string[] | null;
    after: [string, string] | null;
    limit: number;
  },
): Promise<PutawayRuleRow[]> {
  return db<PutawayRuleRow[]>`
    SELECT ${columns(db)} FROM putaway_rules
    WHERE true
      ${f.warehouseId === undefined ? db`` : db`AND warehouse_id = ${f.warehouseId}`}
      ${f.itemId === undefined ? db`` : db`AND item_id = ${f.itemId}`}
      ${f.allowed === null ? db`` : db`AND warehouse_id = ANY(${f.allowed})`}
      ${f.after === null ? db`` : db`AND (warehouse_id, item_id) > (${f.after[0]}, ${f.after[1]})`}
    ORDER BY warehouse_id, item_id
    LIMIT ${f.limit + 1}`;
}
