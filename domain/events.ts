// What every event is, whatever channel carries it (the feed, a webhook): its envelope, and who
// may see it. docs/events.md describes the catalogue.
import { canSee, type Principal } from './access.ts';

/**
 * The resources whose events are everyone's: items, vendors and vendor items, which belong to no warehouse and
 * every token reads. (A warehouse's events carry that warehouse, as a restricted token reads only
 * its own warehouses.)
 */
export const GLOBAL_EVENT_ENTITIES = ['item', 'vendor', 'vendor_item'] as const;

/**
 * Whether events of `type` are about a global resource: the entity is the type's second segment
 * (`inventory.item.created`, `procurement.vendor.updated`). Such events carry no warehouses and
 * every token sees them, as it sees the resource.
 */
export function isGlobalEventType(type: string): boolean {
  return (GLOBAL_EVENT_ENTITIES as readonly string[]).includes(type.split('.')[1] ?? '');
}

/** The one visibility rule (canSee) applied to an event. */
export function canSeeEvent(
  principal: Pick<Principal, 'warehouses'>,
  event: { type: string; warehouse_ids: readonly string[] },
): boolean {
  return canSee(principal, event.warehouse_ids, isGlobalEventType(event.type));
}
