// The history of a purchase order's change orders: one row per revision, written in the
// revision's transaction (with the order locked), never changed afterwards.
import type { Db } from './client.ts';

export interface RevisionRow<Changes = unknown> {
  revision: number;
  at: string;
  actor: string;
  reason: string;
  changes: Changes;
}

export async function insertRevision<Changes>(
  db: Db,
  poId: string,
  entry: { revision: number; actor: string; reason: string; changes: Changes },
): Promise<RevisionRow<Changes>> {
  const [row] = await db<RevisionRow<Changes>[]>`
    INSERT INTO purchase_order_revisions (po_id, revision, actor, reason, changes)
    VALUES (${poId}, ${entry.revision}, ${entry.actor}, ${entry.reason}, ${db.json(entry.changes as never)})
    RETURNING revision, at, actor, reason, changes`;
  return row;
}

/** A page of the order's revisions, oldest first, after revision `after` (limit + 1 rows). */
export async function listRevisions<Changes>(
  db: Db,
  poId: string,
  after: number | null,
  limit: number,
): Promise<RevisionRow<Changes>[]> {
  return db<RevisionRow<Changes>[]>`
    SELECT revision, at, actor, reason, changes FROM purchase_order_revisions
    WHERE po_id = ${poId} ${after === null ? db`` : db`AND revision > ${after}`}
    ORDER BY revision
    LIMIT ${limit + 1}`;
}
