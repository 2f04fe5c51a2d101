// Reorder rules (db/migrations/0027_replenishment.sql): how much of an item a warehouse should hold.
import type { Db } from './client.ts';
import { keysetOrder, keysetWhere, type Keyset } from './keyset.ts';
import type { ScopedPage } from './listing.ts';

export type ReorderPolicy = 'MIN_MAX' | 'REORDER_POINT';

export interface ReorderRuleRow {
  id: string;
  item_id: string;
  warehouse_id: string;
  policy: ReorderPolicy;
  min_qty: number;
  max_qty: number | null;
  reorder_qty: number | null;
  version: number;
  created_at: string;
  updated_at: string;
}

export type ReorderRuleTerms = Pick<
  ReorderRuleRow,
  'policy' | 'min_qty' | 'max_qty' | 'reorder_qty'
>;

const columns = (db: Db) =>
  db`id, item_id, warehouse_id, policy, min_qty, max_qty, reorder_qty, version, created_at, updated_at`;

/** Inserts the rule; null when its id, or its item and warehouse, already have one. */
export async function insertReorderRule(
  db: Db,
  r: Pick<ReorderRuleRow, 'id' | 'item_id' | 'warehouse_id'> & ReorderRuleTerms,
): Promise<ReorderRuleRow | null> {
  const [row] = await db<ReorderRuleRow[]>`
    INSERT INTO reorder_rules (id, item_id, warehouse_id, policy, min_qty, max_qty, reorder_qty)
    VALUES (${r.id}, ${r.item_id}, ${r.warehouse_id}, ${r.policy}, ${r.min_qty}, ${r.max_qty}, ${r.reorder_qty})
    ON CONFLICT DO NOTHING
    RETURNING ${columns(db)}`;
  return row ?? null;
}

/** The rule of this id, or of this item and warehouse: what a new one collided with. */
export async function findRuleCollision(
  db: Db,
  id: string,
  itemId: string,
  warehouseId: string,
): Promise<{ id: string } | null> {
  const [row] = await db<{ id: string }[]>`
    SELECT id FROM reorder_rules
    WHERE id = ${id} OR (item_id = ${itemId} AND warehouse_id = ${warehouseId}) LIMIT 1`;
  return row ?? null;
}

export async function findReorderRule(
  db: Db,
  id: string,
  { lock = false } = {},
): Promise<ReorderRuleRow | null> {
  const [row] = await db<ReorderRuleRow[]>`
    SELECT ${columns(db)} FROM reorder_rules WHERE id = ${id} ${lock ? db`FOR UPDATE` : db``}`;
  return row ?? null;
}

export async function updateReorderRule(
  db: Db,
  id: string,
  r: ReorderRuleTerms,
): Promise<ReorderRuleRow> {
  const [row] = await db<ReorderRuleRow[]>`
    UPDATE reorder_rules SET policy = ${r.policy}, min_qty = ${r.min_qty}, max_qty = ${r.max_qty},
      reorder_qty = ${r.reorder_qty}, version = version + 1, updated_at = now()
    WHERE id = ${id}
    RETURNING ${columns(db)}`;
  return row;
}

export async function deleteReorderRule(db: Db, id: string): Promise<void> {
  await db`DELETE FROM reorder_rules WHERE id = ${id}`;
}

export async function listReorderRules(
  db: Db,
  f: { item_id?: string; warehouse_id?: string; keyset: Keyset } & ScopedPage<unknown[]>,
): Promise<ReorderRuleRow[]> {
  return db<ReorderRuleRow[]>`
    SELECT ${columns(db)} FROM reorder_rules
    WHERE true
      ${f.item_id === undefined ? db`` : db`AND item_id = ${f.item_id}`}
      ${f.warehouse_id === undefined ? db`` : db`AND warehouse_id = ${f.warehouse_id}`}
      ${f.allowed === null ? db`` : db`AND warehouse_id = ANY(${f.allowed}::text[])`}
      ${keysetWhere(db, f.keyset, f.after)}
    ${keysetOrder(db, f.keyset)}
    LIMIT ${f.limit + 1}`;
}
