// Receiving goods against a purchase order: the part a receipt shares between being posted at
// creation and being posted later from PENDING. One transaction (the request's) does it all: the
// caller locks the order and its lines (findPurchaseOrderWithLines), the over-receipt check runs on
// the locked rows, stock comes in through the inventory ledger, and the lines' qty_received grows
// (invariant 3: it is the sum of posted receipt lines, never above qty less qty_cancelled). Concurrent receipts
// against one order queue on its lock, so together they can never receive more than was ordered.
import { allInOrder } from '../../db/client.ts';
import type { OutboxEvent } from '../../db/outbox.ts';
import { addReceived, overReceipts, type PurchaseOrderRow } from '../../db/purchase-orders.ts';
import type { ReceiptLine } from '../../db/receipts.ts';
import { ProblemError } from '../../domain/problems.ts';
import type { Context, OperationId } from '../types.ts';
import { Ledger, type MoveInput } from './ledger.ts';
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
    lines: lines.map((l) => ({
      item_id: l.item_id,
      qty: l.qty_received,
      batch: l.batch,
      expires_at: l.expires_at,
      serials: l.serials,
    })),
  };
}

/**
 * 422 when the lines break the ledger's rules for what they carry (batch, expiry, serials per the
 * item's tracking), checked before anything is stored so that a draft is refused as its posting
 * would be. `refs` holds the warehouse and the lines' items.
 */
export function checkReceiptLines(
  refs: References,
  warehouseId: string,
  lines: ReceiptLine[],
): void {
  resolveLines(receiptMove(warehouseId, lines), refs, receiptPointer);
}

export interface Receiving {
  receiptId: string;
  /** The order, locked with its lines by the caller, in a state that accepts receipts. */
  po: PurchaseOrderRow;
  warehouseId: string;
  lines: ReceiptLine[];
}

export interface Received {
  stockMoveId: string;
  /** The order once the receipt is recorded on it; settles when the ledger's writes and the order's are done. */
  po: Promise<PurchaseOrderRow>;
  /** The ledger's events (the move's, its levels'), for the caller to send after its own writes. */
  events: OutboxEvent[];
}

/**
 * Posts the receipt's stock and records it on the order, in two round trips: the over-receipt
 * check travels with the ledger's reads, and the order's update goes out right behind the
 * ledger's writes. Returns as soon as those writes are sent, so that the caller can pipeline its
 * own statements behind them.
 */
export async function receive(
  ctx: Pick<Context<OperationId>, 'db' | 'actor' | 'principal' | 'idempotencyKey'>,
  r: Receiving,
): Promise<Received> {
  const { db, actor, principal, idempotencyKey } = ctx;
  const increments = r.lines.map((l) => ({ po_line_id: l.po_line_id, qty: l.qty_received }));
  const posting = {
    actor,
    principal,
    input: receiptMove(r.warehouseId, r.lines, r.po.number),
    options: { receiptId: r.receiptId, idempotencyKey, pointer: receiptPointer },
  };
  const [[over], ledger] = await allInOrder([
    overReceipts(db, increments),
    Ledger.load(db, [posting]),
  ]);
  if (over) {
    const { cancelled, ...numbers } = over;
    const before = cancelled > 0 ? `, cancelled ${cancelled}` : '';
    throw new ProblemError(
      'over-receipt',
      `Line ${over.po_line_id} ordered ${over.ordered}, received ${over.received}${before}; ${over.requested} more would exceed it.`,
      { ...numbers },
    );
  }
  const move = ledger.post(posting);
  return {
    stockMoveId: move.id,
    po: allInOrder([
      ledger.write(db, { deferEvents: true }),
      addReceived(db, r.po.id, increments),
    ]).then(([, po]) => po),
    events: ledger.events,
  };
}
