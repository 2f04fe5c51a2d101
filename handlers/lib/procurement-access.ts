// Which warehouses a procurement document belongs to, and what a warehouse-restricted token may do
// with it (docs/standards.md §3). Procurement documents are never global: one that belongs to no
// warehouse (unassigned) is for unrestricted tokens only. Visibility itself is domain/access.ts's
// one rule; this only says what the rule is applied to.
import { findPurchaseOrder } from '../../db/purchase-orders.ts';
import type { Db } from '../../db/client.ts';
import { assertVisible, assertWarehouses, canSee, type Principal } from '../../domain/access.ts';
import { ProblemError, type FieldError } from '../../domain/problems.ts';

/** A purchase order belongs to the warehouse it ships to (and its invoices and match report with it). */
export function orderWarehouses(po: { ship_to_warehouse_id: string | null }): string[] {
  return po.ship_to_warehouse_id === null ? [] : [po.ship_to_warehouse_id];
}

/** A requisition belongs to the warehouses its lines name, each once, in a stable order. */
export function requisitionWarehouses(
  lines: readonly { warehouse_id?: string | null }[],
): string[] {
  return [...new Set(lines.flatMap((l) => l.warehouse_id ?? []))].sort();
}

/**
 * Listing a purchase order's invoices (`?po_id=`) is addressing the order, since they belong to
 * it: 403 when the token cannot see it. An unknown order lists nothing, as any filter that
 * matches nothing. (Receipts belong to their own warehouse: their `?po_id=` is a plain filter.)
 */
export async function assertOrderFilterVisible(
  db: Db,
  principal: Principal,
  poId: string | undefined,
): Promise<void> {
  if (poId === undefined || principal.warehouses === null) return;
  const po = await findPurchaseOrder(db, poId);
  if (po) assertVisible(principal, orderWarehouses(po));
}

/** The warehouses of a change: those of the document before it and after it. */
export function changedWarehouses(before: string[], after: string[]): string[] {
  return [...new Set([...before, ...after])].sort();
}

/**
 * Whether every reader of a record tagged with `audience` (an event, an audit entry: a token
 * restricted to any one of those warehouses reads it) may see a document of `warehouseIds`. What
 * such a record embeds of another document is built for them, not for the token whose request
 * wrote it (docs/standards.md §3).
 */
export function audienceSees(
  audience: readonly string[],
  warehouseIds: readonly string[],
): boolean {
  return audience.every((id) => canSee({ warehouses: new Set([id]) }, warehouseIds));
}

/**
 * For approving, converting or replacing a requisition: 403 warehouse-forbidden unless the token
 * sees it (assertVisible, so an unassigned one is refused to restricted tokens), may touch every
 * warehouse its lines name, and, when restricted, every line names one. A requisition spanning two
 * warehouses is visible to a token of either, but these commit both, so they need both; and a
 * line of no warehouse converts into an unassigned order, which a restricted token may neither
 * create nor see (docs/standards.md §3).
 */
export function assertMayChangeRequisition(
  principal: Principal,
  lines: readonly { warehouse_id?: string | null }[],
): void {
  const warehouseIds = requisitionWarehouses(lines);
  assertVisible(principal, warehouseIds);
  assertWarehouses(principal, ...warehouseIds);
  const unassigned = lines.findIndex((l) => (l.warehouse_id ?? null) === null);
  if (principal.warehouses !== null && unassigned >= 0)
    throw new ProblemError(
      'warehouse-forbidden',
      `Line ${unassigned} of this requisition names no warehouse, so only a token without a warehouses claim may approve, convert or replace it.`,
    );
}

/**
 * A restricted token must say which warehouse a new document (or line) belongs to, or it would
 * create something it could not see afterwards: 422 `required` at `pointer` when it did not.
 * Whether the warehouse given is within the claim is a 403, checked by the caller.
 */
export function warehouseRequired(
  principal: Principal,
  warehouseId: string | undefined,
  pointer: string,
  what: string,
): FieldError[] {
  if (principal.warehouses === null || warehouseId !== undefined) return [];
  return [
    {
      pointer,
      code: 'required',
      detail: `A token with a warehouses claim must name one of its warehouses for ${what}.`,
    },
  ];
}
