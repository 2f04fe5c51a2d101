// Whose a webhook endpoint is and what it may receive (docs/webhooks.md, "Who sees what"). An
// endpoint belongs to the client whose token made it, and keeps that token's warehouses claim:
// it is sent an event only when that claim could see it, by the one visibility rule (canSee).
import type { Principal } from '../access.ts';
import { canSeeEvent } from '../events.ts';
import { ProblemError } from '../problems.ts';

/**
 * 403 warehouse-forbidden (naming no warehouse) for a token whose `warehouses` claim is empty: it
 * may touch no warehouse, so an endpoint keeping its claim would receive no event, while every
 * restricted token of its client would manage it (the empty claim lies within any). Checked
 * before anything about the request's body, as no body would do (docs/webhooks.md).
 */
export function assertMayCreateEndpoint(principal: Pick<Principal, 'warehouses'>): void {
  if (principal.warehouses?.size === 0) {
    throw new ProblemError(
      'warehouse-forbidden',
      'This token may touch no warehouse (its warehouses claim is empty), so it may not create a webhook endpoint: the endpoint would receive no event.',
      {},
    );
  }
}

/** The claim an endpoint made by `principal` keeps: its warehouses, sorted; null when unrestricted. */
export function claimOf(principal: Pick<Principal, 'warehouses'>): string[] | null {
  return principal.warehouses && [...principal.warehouses].sort();
}

/**
 * Whether an endpoint whose claim is `endpointWarehouses` receives `event`: exactly what a token
 * with that claim may see (canSeeEvent). An event about no warehouse that is not about a global
 * resource reaches unrestricted endpoints only.
 */
export function receives(
  endpointWarehouses: readonly string[] | null,
  event: { type: string; warehouse_ids: readonly string[] },
): boolean {
  return canSeeEvent({ warehouses: endpointWarehouses && new Set(endpointWarehouses) }, event);
}

/**
 * Whether `event` is for `endpoint`: of a type it subscribes to, and one its claim receives. The
 * fan-out sends it such events, and a replay sends again only such events (webhook.test aside,
 * which is sent to the one endpoint tested, whatever it subscribes to).
 */
export function isFor(
  endpoint: { events: readonly string[]; warehouses: readonly string[] | null },
  event: { type: string; warehouse_ids: readonly string[] },
): boolean {
  return endpoint.events.includes(event.type) && receives(endpoint.warehouses, event);
}
