// Whose a webhook endpoint is and what it may receive (docs/webhooks.md, "Who sees what"). An
// endpoint belongs to the client whose token made it, and keeps that token's warehouses claim:
// it is sent an event only when that claim could see it, by the one visibility rule (canSee).
import { canSee, type Principal } from '../access.ts';

/** The claim an endpoint made by `principal` keeps: its warehouses, sorted; null when unrestricted. */
export function claimOf(principal: Pick<Principal, 'warehouses'>): string[] | null {
  return principal.warehouses && [...principal.warehouses].sort();
}

/**
 * Whether an endpoint whose claim is `endpointWarehouses` receives an event about
 * `eventWarehouses`: exactly what a token with that claim may see. No event is global, so one
 * about no warehouse reaches unrestricted endpoints only.
 */
export function receives(
  endpointWarehouses: readonly string[] | null,
  eventWarehouses: readonly string[],
): boolean {
  const asToken: Principal = {
    sub: '',
    clientId: '',
    scopes: new Set(),
    warehouses: endpointWarehouses && new Set(endpointWarehouses),
  };
  return canSee(asToken, eventWarehouses);
}
