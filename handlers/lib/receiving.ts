// Receiving goods against a purchase order: the part a receipt shares between being posted at
// creation and being posted later from PENDING, and its undoing when the receipt is reversed. One
// transaction (the request's) does it all: the caller locks the order and its lines
// (findPurchaseOrderWithLines), the over-receipt check runs on the locked rows, stock comes in (or
// goes back out) through the inventory ledger, and the lines' qty_received follows (invariant 3:
// it is the sum of posted receipt lines not reversed, never above qty less qty_cancelled).
// Concurrent receipts and reversals against one order queue on its lock, so together they can
// never receive more than was ordered.
import { allInOrder } from '../../db/client.ts';
import type { OutboxEvent } from '../../db/outbox.ts';
import {
  addReceived,
  overReceipts,
  type PurchaseOrderLineRow,
  type PurchaseOrderRow,
} from '../../db/purchase-orders.ts';
import type { ReceiptLine } from '../../db/receipts.ts';
import type { LineRow, MoveRow } from '../../db/stock-moves.ts';
import { must } from '../../domain/must.ts';
import { ProblemError } from '../../domain/problems.ts';
import type { Context, OperationId } from '../types.ts';
import { Ledger, reversalOf, type IncomingChange, type MoveInput } from './ledger.ts';
import { resolveLines } from './move-rules.ts';
import { micro, toNumber } from './quantity.ts';
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
      to_state: l.to_state,
      to_location: l.to_location,
    })),
  };
}

/**
 * A receipt's goods may have been put away since they came in: its reversal takes them from
 * wherever they are (picked as any issue is), not from where the receipt put them.
 */
function fromWhereItIs(move: MoveInput): MoveInput {
  return { ...move, lines: move.lines.map(({ from_location: _, ...line }) => line) };
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

/**
 * How receiving (`sign` -1) or unreceiving (+1) these quantities changes the incoming stock of the
 * order's ship-to levels: by exactly the quantities, as they are within the lines' open (or
 * received) quantity and the order counts (SENT, or RECEIVED becoming SENT again). The database
 * applies the same change itself (db/migrations/0022_incoming.sql); this is for the ledger's events.
 */
function incomingChanges(
  po: PurchaseOrderRow,
  poLines: PurchaseOrderLineRow[],
  increments: { po_line_id: string; qty: number }[],
  sign: bigint,
): IncomingChange[] {
  const warehouse_id = po.ship_to_warehouse_id;
  if (warehouse_id === null || (po.status !== 'SENT' && po.status !== 'RECEIVED')) return [];
  return increments.flatMap((i) => {
    const line = poLines.find((l) => l.id === i.po_line_id);
    if (!line) return [];
    const qty = sign * micro(i.qty);
    return [
      {
        item_id: line.item_id,
        warehouse_id,
        incoming: qty,
        undated: line.expected_at === null ? qty : 0n,
      },
    ];
  });
}

export interface Receiving {
  receiptId: string;
  /** The order, locked with its lines by the caller, in a state that accepts receipts. */
  po: PurchaseOrderRow;
  poLines: PurchaseOrderLineRow[];
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
    options: {
      receiptId: r.receiptId,
      idempotencyKey,
      pointer: receiptPointer,
      incoming: incomingChanges(r.po, r.poLines, increments, -1n),
    },
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

export interface Unreceiving {
  receiptId: string;
  /** The order and its lines, locked by the caller (findPurchaseOrderWithLines), in SENT or RECEIVED. */
  po: PurchaseOrderRow;
  poLines: PurchaseOrderLineRow[];
  /** The receipt's lines: what leaves the order's lines. */
  lines: Pick<ReceiptLine, 'po_line_id' | 'qty_received'>[];
  /** The stock move that posted the receipt, and its lines: what the reversal takes back out. */
  move: MoveRow;
  moveLines: LineRow[];
  reason?: string;
}

/**
 * Undoes a posted receipt, in two round trips, refusing before anything is written: 409
 * invalid-state when a line would keep less received than was returned to the vendor, else the
 * ledger posts the reversal of the receipt's stock move (409 over-issuance when the goods are no
 * longer available, 422 when a serial has left the warehouse) and the order's lines lose the
 * receipt's quantities. Returns as soon as the writes are sent, as `receive` does.
 */
export async function unreceive(
  ctx: Pick<Context<OperationId>, 'db' | 'actor' | 'principal' | 'idempotencyKey'>,
  u: Unreceiving,
): Promise<Received> {
  const { db, actor, principal, idempotencyKey } = ctx;
  const taken = new Map<string, bigint>();
  for (const l of u.lines)
    taken.set(l.po_line_id, (taken.get(l.po_line_id) ?? 0n) + micro(l.qty_received));
  for (const [lineId, qty] of taken) {
    const line = must(
      u.poLines.find((l) => l.id === lineId),
      'a line of the order of the receipt',
    );
    const left = micro(line.qty_received) - qty;
    // The lines' CHECK (qty_returned <= qty_received) would refuse it too, as a 500.
    if (left < micro(line.qty_returned))
      throw new ProblemError(
        'invalid-state',
        `Line ${lineId} has ${line.qty_returned} returned to the vendor of ${line.qty_received} received; reversing receipt ${u.receiptId} would leave ${toNumber(left)} received, less than was returned.`,
        // Not a matter of status: the receipt is POSTED, and reversing it is refused all the same.
        { current_status: 'POSTED' },
      );
  }
  const posting = {
    actor,
    principal,
    input: fromWhereItIs(
      reversalOf(u.move, u.moveLines, u.reason ?? `Reversal of receipt ${u.receiptId}`),
    ),
    options: {
      idempotencyKey,
      reverses: u.move.id,
      pointer: receiptPointer,
      // What the receipt received is open again: the order is (or becomes) SENT.
      incoming: incomingChanges(
        u.po,
        u.poLines,
        u.lines.map((l) => ({ po_line_id: l.po_line_id, qty: l.qty_received })),
        1n,
      ),
    },
  };
  const ledger = await Ledger.load(db, [posting]);
  const move = ledger.post(posting);
  const decrements = [...taken].map(([po_line_id, qty]) => ({
    po_line_id,
    qty: -toNumber(qty),
  }));
  return {
    stockMoveId: move.id,
    po: allInOrder([
      ledger.write(db, { deferEvents: true }),
      addReceived(db, u.po.id, decrements),
    ]).then(([, po]) => po),
    events: ledger.events,
  };
}
