// Who is asking, and which warehouses they may touch (docs/standards.md §3). The token's claims
// become a Principal in server/plugins/auth.ts; these rules are what business code applies to it.
import { ProblemError } from './problems.ts';

export interface Principal {
  sub: string;
  clientId: string;
  scopes: ReadonlySet<string>;
  /** Warehouses the token may touch; null means all. */
  warehouses: ReadonlySet<string> | null;
}

export function canAccessWarehouse(principal: Principal, warehouseId: string): boolean {
  return principal.warehouses === null || principal.warehouses.has(warehouseId);
}

/** 403 warehouse-forbidden unless the token may touch every warehouse given. */
export function assertWarehouses(
  principal: Principal,
  ...warehouseIds: (string | undefined | null)[]
): void {
  for (const id of warehouseIds) {
    if (id && !canAccessWarehouse(principal, id)) {
      throw new ProblemError('warehouse-forbidden', `This token may not touch warehouse ${id}.`, {
        warehouse_id: id,
      });
    }
  }
}

/**
 * The kinds of resource that belong to no warehouse and are everyone's to see (the resources for
 * which callers pass canSee's `global`); the audit log's SQL reads the list (db/audit.ts).
 */
export const GLOBAL_ENTITIES = ['item', 'warehouse', 'vendor', 'vendor_item'] as const;

/**
 * The one visibility rule, for every channel (REST, lists, events, webhooks, audit): an
 * unrestricted token sees everything; a restricted one sees a resource that belongs to at least
 * one of its warehouses, or that belongs to none and is global (GLOBAL_ENTITIES). A resource of
 * no warehouse that is not global (an unassigned purchase order, a webhook endpoint's audit
 * entry) is visible to unrestricted tokens only. Only the claim matters: a webhook endpoint's
 * fan-out asks with the claim it keeps (domain/webhooks/ownership.ts).
 */
export function canSee(
  principal: Pick<Principal, 'warehouses'>,
  warehouseIds: readonly string[],
  global = false,
): boolean {
  const { warehouses } = principal;
  if (warehouses === null) return true;
  if (warehouseIds.length === 0) return global;
  return warehouseIds.some((id) => warehouses.has(id));
}

/** 403 warehouse-forbidden unless `canSee`; it names the first warehouse (none when unassigned). */
export function assertVisible(
  principal: Pick<Principal, 'warehouses'>,
  warehouseIds: readonly string[],
  global = false,
): void {
  if (canSee(principal, warehouseIds, global)) return;
  const [first] = warehouseIds;
  throw new ProblemError(
    'warehouse-forbidden',
    first === undefined
      ? 'This resource belongs to no warehouse, so only a token without a warehouses claim may see it.'
      : `This token may not touch warehouse ${first}.`,
    first === undefined ? {} : { warehouse_id: first },
  );
}
