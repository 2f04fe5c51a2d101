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
