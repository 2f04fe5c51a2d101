// operationId → handler, for every operation the spec serves. `satisfies Handlers` makes a
// missing, extra or misnamed operationId a compile error.
import type { Handlers } from './types.ts';
import { healthHandlers } from './health.ts';
import { warehouseHandlers } from './warehouses.ts';
import { itemHandlers } from './items.ts';
import { webhookEndpointHandlers } from './webhook-endpoints.ts';
import { webhookDeliveryHandlers } from './webhook-deliveries.ts';
import { pendingHandlers } from './pending.ts';

export const handlers = {
  ...healthHandlers,
  ...warehouseHandlers,
  ...itemHandlers,
  ...webhookEndpointHandlers,
  ...webhookDeliveryHandlers,
  ...pendingHandlers,
} satisfies Handlers;
