// Receiving goods against a purchase order: the part a receipt shares between being posted at
// creation and being posted later from PENDING. One transaction (the request's) does it all:
// the order's lines are locked in id order, the over-receipt check runs on the locked rows, stock
// comes in through the inventory ledger, and the lines' qty_received grows (invariant 3: it is the
// sum of posted receipt lines, never above qty). Concurrent receipts against one line queue on its
// lock, so together they can never receive more than was ordered.
import { addReceived, lockPurchaseOrderLines, overReceipts, type PurchaseOrderRow } from '../../db/purchase-orders.ts';
import type { ReceiptLine } from '../../db/receipts.ts';
import { ProblemError } from '../../server/problem.ts';
import type { Context, OperationId } from '../types.ts';
import { postStockMove, type MoveInput } from './ledger.ts';
import { resolveLines } from './move-rules.ts';
import type { References } from './references.ts';

/** What the ledger calls a line's `qty` is a receipt line's `qty_received`; the item comes from the PO line. */
function receiptPointer(lineIndex: number, field: string): string {
  const name = field === 'qty' ? 'qty_received' : field === 'item_id' ? 'po_line_id' : field;
  return `#/lines/${lineIndex}/${name}`;
}

/** The stock move a receipt posts: its lines into the warehouse, the item from each PO line. */
function receiptMove(warehouseId: string, lines: ReceiptLine[], reference?: string): MoveInput {
  return {
    type: 'RECEIPT',
    to_wh: warehouseId,
    reference,
    lines: lines.map((l) => ({ item_id: l.item_id, qty: l.qty_received, batch: l.batch, expires_at: l.expires_at, serials: l.serials })),
  };
}

/**
 * 422 when the lines break the ledger's rules for what they carry (batch, expiry, serials per the
 * item's tracking), checked before anything is stored so that a draft is refused as its posting
 * would be. `refs` holds the warehouse and the lines' items.
 */
export function checkReceiptLines(refs: References, warehouseId: string, lines: ReceiptLine[]): void {
  resolveLines(receiptMove(warehouseId, lines), refs, receiptPointer);
}

export interface Receiving {
  receiptId: string;
  /** The order, locked by the caller (FOR UPDATE), in a state that accepts receipts. */
  po: PurchaseOrderRow;
  warehouseId: string;
  lines: ReceiptLine[];
}

/** Posts the receipt's stock and records it on the order; returns the stock move id and the updated order. */
export async function receive(ctx: Pick<Context<OperationId>, 'db' | 'actor' | 'principal' | 'idempotencyKey'>, r: Receiving): Promise<{ stockMoveId: string; po: PurchaseOrderRow }> {
  const { db, actor, principal, idempotencyKey } = ctx;
  await lockPurchaseOrderLines(db, r.po.id);
  const increments = r.lines.map((l) => ({ po_line_id: l.po_line_id, qty: l.qty_received }));
  const [over] = await overReceipts(db, increments);
  if (over) {
    throw new ProblemError('over-receipt',
      `Line ${over.po_line_id} ordered ${over.ordered}, received ${over.received}; ${over.requested} more would exceed it.`, { ...over });
  }
  const move = await postStockMove(db, actor, principal, receiptMove(r.warehouseId, r.lines, r.po.number),
    { receiptId: r.receiptId, idempotencyKey, pointer: receiptPointer });
  return { stockMoveId: move.id, po: await addReceived(db, r.po.id, increments) };
}
