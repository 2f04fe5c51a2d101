// operationId → handler, for every operation the spec serves. `satisfies Handlers` makes a
// missing, extra or misnamed operationId a compile error.
import type { Handlers, OperationId } from './types.ts';
import type { StockKey } from '../db/stock.ts';
import { stockKeysOf } from './lib/ledger.ts';
import { healthHandlers } from './health.ts';
import { warehouseHandlers } from './warehouses.ts';
import { itemHandlers } from './items.ts';
import { stockHandlers } from './stock.ts';
import { stockMoveHandlers } from './stock-moves.ts';
import { reservationHandlers } from './reservations.ts';
import { auditHandlers } from './audit.ts';
import { vendorHandlers } from './vendors.ts';
import { requisitionHandlers } from './requisitions.ts';
import { purchaseOrderHandlers } from './purchase-orders.ts';
import { invoiceHandlers } from './invoices.ts';
import { receiptHandlers } from './receipts.ts';
import { webhookEndpointHandlers } from './webhook-endpoints.ts';
import { webhookDeliveryHandlers } from './webhook-deliveries.ts';
import { pendingHandlers } from './pending.ts';

export const handlers = {
  ...healthHandlers,
  ...warehouseHandlers,
  ...itemHandlers,
  ...stockHandlers,
  ...stockMoveHandlers,
  ...reservationHandlers,
  ...auditHandlers,
  ...vendorHandlers,
  ...requisitionHandlers,
  ...purchaseOrderHandlers,
  ...invoiceHandlers,
  ...receiptHandlers,
  ...webhookEndpointHandlers,
  ...webhookDeliveryHandlers,
  ...pendingHandlers,
} satisfies Handlers;

/**
 * Operations applied through group commit (server/plugins/group-commit.ts), with the stock levels a
 * request will lock, so that a batch can lock all of them once, in order.
 */
export const groupCommitted: Partial<Record<OperationId, (body: any) => StockKey[]>> = {
  createStockMove: stockKeysOf,
};
