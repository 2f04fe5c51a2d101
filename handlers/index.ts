// operationId → handler, for every operation the spec serves. `satisfies Handlers` makes a
// missing, extra or misnamed operationId a compile error.
import type { Handlers } from './types.ts';
import { healthHandlers } from './health.ts';
import { warehouseHandlers } from './warehouses.ts';
import { locationHandlers } from './locations.ts';
import { putawayRuleHandlers } from './putaway-rules.ts';
import { itemHandlers } from './items.ts';
import { stockHandlers } from './stock.ts';
import { stockMoveHandlers } from './stock-moves.ts';
import { reservationHandlers } from './reservations.ts';
import { auditHandlers } from './audit.ts';
import { vendorHandlers } from './vendors.ts';
import { vendorItemHandlers } from './vendor-items.ts';
import { reorderRuleHandlers } from './reorder-rules.ts';
import { replenishmentHandlers } from './replenishment.ts';
import { requisitionHandlers } from './requisitions.ts';
import { purchaseOrderHandlers } from './purchase-orders.ts';
import { poRevisionHandlers } from './po-revisions.ts';
import { invoiceHandlers } from './invoices.ts';
import { receiptHandlers } from './receipts.ts';
import { vendorReturnHandlers } from './vendor-returns.ts';
import { statusChangeHandlers } from './status-changes.ts';
import { webhookEndpointHandlers } from './webhook-endpoints.ts';
import { webhookDeliveryHandlers } from './webhook-deliveries.ts';
import { webhookReplayHandlers } from './webhook-replay.ts';
import { webhookEventTypeHandlers } from './webhook-event-types.ts';
import { pendingHandlers } from './pending.ts';
import { eventHandlers } from './events.ts';

export const handlers = {
  ...healthHandlers,
  ...warehouseHandlers,
  ...locationHandlers,
  ...putawayRuleHandlers,
  ...itemHandlers,
  ...stockHandlers,
  ...stockMoveHandlers,
  ...reservationHandlers,
  ...auditHandlers,
  ...vendorHandlers,
  ...vendorItemHandlers,
  ...reorderRuleHandlers,
  ...replenishmentHandlers,
  ...requisitionHandlers,
  ...purchaseOrderHandlers,
  ...poRevisionHandlers,
  ...invoiceHandlers,
  ...receiptHandlers,
  ...vendorReturnHandlers,
  ...statusChangeHandlers,
  ...webhookEndpointHandlers,
  ...webhookDeliveryHandlers,
  ...webhookReplayHandlers,
  ...webhookEventTypeHandlers,
  ...pendingHandlers,
  ...eventHandlers,
} satisfies Handlers;
