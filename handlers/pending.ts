// Operations of the published contract that this server does not serve yet: each answers
// 501 not-implemented (problem+json), so nothing pretends to work. test/contract.test.ts lists them.
import { notImplemented } from './lib/not-implemented.ts';

export const pendingOperations = [
  'listVendors', 'createVendor', 'getVendor',
  'listRequisitions', 'createRequisition', 'getRequisition', 'replaceRequisition', 'approveRequisition', 'convertRequisition',
  'listPurchaseOrders', 'createPurchaseOrder', 'getPurchaseOrder', 'replacePurchaseOrder', 'sendPurchaseOrder', 'closePurchaseOrder', 'getPurchaseOrderMatch',
  'listReceipts', 'createReceipt', 'getReceipt', 'replaceReceipt', 'postReceipt',
  'listInvoices', 'createInvoice', 'getInvoice',
] as const;

export const pendingHandlers = Object.fromEntries(pendingOperations.map((id) => [id, notImplemented(id)])) as {
  [K in (typeof pendingOperations)[number]]: ReturnType<typeof notImplemented>;
};
