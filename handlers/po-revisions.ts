// Change orders: revising the lines of a SENT purchase order as agreed with the vendor, and the
// history of those revisions (docs/purchasing.md, "Change orders").
import { lockIncomingLevels } from '../db/availability.ts';
import {
  findPurchaseOrder,
  findPurchaseOrderWithLines,
  referencedLines,
  reviseLines,
  settleOrder,
  type PurchaseOrderLineInput,
  type PurchaseOrderLineRow,
  type RevisedLine,
} from '../db/purchase-orders.ts';
import { insertRevision, listRevisions } from '../db/po-revisions.ts';
import { allInOrder, type Db } from '../db/client.ts';
import { newId } from '../db/ids.ts';
import { insertEvents } from '../db/outbox.ts';
import { assertVisible } from '../domain/access.ts';
import { invalid, notFound, ProblemError, type FieldError } from '../domain/problems.ts';
import type { components } from '../generated/api.ts';
import { purchaseOrderEvent, purchaseOrderRevisedEvent } from './lib/catalogue.ts';
import { assertChangeable } from './lib/documents.ts';
import { scopedPage } from './lib/listing.ts';
import {
  expectedAtErrors,
  lineIdErrors,
  orderLinesInStockUnits,
  presentPurchaseOrder,
  toPurchaseOrder,
} from './lib/orders.ts';
import { orderWarehouses } from './lib/procurement-access.ts';
import { decimal, micro } from './lib/quantity.ts';
import { lineItemErrors, loadReferences } from './lib/references.ts';
import { incomingEvents } from './lib/levels.ts';
import { unitColumns } from './lib/line-units.ts';
import { openOfOrder } from '../db/availability.ts';
import { must } from '../domain/must.ts';
import type { Handlers } from './types.ts';

type Schemas = components['schemas'];
type Changes = Schemas['PurchaseOrderRevisionChanges'];
type LineChange = Schemas['PurchaseOrderLineChange'];

const PO = 'purchase order';

// Money as numeric::text writes it (no leading zeros), and compared by value: 0.50 is 0.5.
const canonical = (amount: string) => amount.replace(/^0+(?=\d)/, '');
const byValue = (amount: string) => {
  const c = canonical(amount);
  return c.includes('.') ? c.replace(/\.?0+$/, '') : c;
};
const sameAmount = (a: string, b: string) => byValue(a) === byValue(b);

/**
 * The 422s of a revision against the order's (locked) lines: line ids, items, quantities below
 * what a line received and cancelled, and lines that cannot go because something refers to them.
 */
async function revisionErrors(
  db: Db,
  body: { lines: PurchaseOrderLineInput[] },
  current: PurchaseOrderLineRow[],
): Promise<FieldError[]> {
  const byId = new Map(current.map((l) => [l.id, l]));
  const errors = lineIdErrors(body.lines, new Set(byId.keys()));
  errors.push(...expectedAtErrors(body.lines));
  // New lines name their item as on creation; a kept line keeps its own (which may have been
  // deactivated since: the order still has it).
  const added = body.lines.flatMap((l, i) => (l.id === undefined ? [{ ...l, i }] : []));
  if (added.length) {
    const refs = await loadReferences(
      db,
      added.map((l) => l.item_id),
      [],
    );
    errors.push(...lineItemErrors(refs, added, (k) => `#/lines/${added[k].i}/item_id`));
  }
  body.lines.forEach((l, i) => {
    const line = l.id === undefined ? undefined : byId.get(l.id);
    if (!line) return;
    if (l.item_id !== line.item_id)
      errors.push({
        pointer: `#/lines/${i}/item_id`,
        code: 'item_changed',
        detail: `Line ${line.id} is for item ${line.item_id}; a line keeps its item (remove it and add a new line for another item).`,
      });
    const settled = micro(line.qty_received) + micro(line.qty_cancelled);
    if (micro(l.qty) < settled)
      errors.push({
        pointer: `#/lines/${i}/qty`,
        code: 'below_received_and_cancelled',
        detail: `Line ${line.id}: qty ${l.qty} is less than received ${line.qty_received} + cancelled ${line.qty_cancelled} = ${decimal(settled)}.`,
      });
  });
  const named = new Set(body.lines.map((l) => l.id));
  const removed = current.filter((l) => !named.has(l.id));
  const references = await referencedLines(
    db,
    removed.map((l) => l.id),
  );
  for (const line of removed) {
    const documents = references.filter((r) => r.po_line_id === line.id).map((r) => r.document);
    if (line.qty_received === 0 && documents.length === 0) continue;
    const why =
      line.qty_received > 0
        ? `received ${line.qty_received}`
        : `is named by ${documents.map((d) => `a ${d}`).join(' and ')}`;
    errors.push({
      pointer: '#/lines',
      code: 'line_in_use',
      detail: `Line ${line.id} (item ${line.item_id}) ${why} and cannot be removed; keep it, with qty no less than ${decimal(micro(line.qty_received) + micro(line.qty_cancelled))}.`,
    });
  }
  return errors;
}

/** What the revision changes, line by line (new lines' order, then removed ones), and the notes. */
function changesOf(
  current: PurchaseOrderLineRow[],
  next: RevisedLine[],
  notes: { before: string | null; after: string | null },
): Changes {
  const byId = new Map(current.map((l) => [l.id, l]));
  const lines: LineChange[] = [];
  for (const l of next) {
    const was = byId.get(l.id);
    if (!was) {
      lines.push({
        change: 'added',
        line_id: l.id,
        item_id: l.item_id,
        qty: { before: null, after: l.qty },
        unit_price: { before: null, after: l.unit_price },
        ...(l.expected_at === null ? {} : { expected_at: { before: null, after: l.expected_at } }),
      });
      continue;
    }
    const change: LineChange = { change: 'changed', line_id: l.id, item_id: l.item_id };
    if (micro(was.qty) !== micro(l.qty)) change.qty = { before: was.qty, after: l.qty };
    if (!sameAmount(was.unit_price, l.unit_price))
      change.unit_price = { before: was.unit_price, after: l.unit_price };
    if (was.expected_at !== l.expected_at)
      change.expected_at = { before: was.expected_at, after: l.expected_at };
    if (change.qty || change.unit_price || change.expected_at) lines.push(change);
  }
  const kept = new Set(next.map((l) => l.id));
  for (const was of current)
    if (!kept.has(was.id))
      lines.push({
        change: 'removed',
        line_id: was.id,
        item_id: was.item_id,
        qty: { before: was.qty, after: null },
        unit_price: { before: was.unit_price, after: null },
        ...(was.expected_at === null
          ? {}
          : { expected_at: { before: was.expected_at, after: null } }),
      });
  return notes.before === notes.after ? { lines } : { lines, notes };
}

export const poRevisionHandlers = {
  async revisePurchaseOrder({ db, params, body, principal, ifMatch, actor, audit }) {
    // The order, then its lines, locked as receipts, cancel-remaining and close lock them: a
    // receipt or cancellation waits for the revision (and then sees its lines), or the revision
    // waits for it (and checks its quantities against what it left).
    const { po: found, lines } = await findPurchaseOrderWithLines(db, params.id, { lock: true });
    if (!found) throw notFound(PO, params.id);
    assertVisible(principal, orderWarehouses(found));
    // Validation (422) before the precondition (412), as for every request (docs/standards.md §5).
    // Lines given in a unit of their item take their quantity and price in stock units first.
    const inStockUnits = orderLinesInStockUnits(
      await loadReferences(
        db,
        body.lines.map((l) => l.item_id),
        [],
      ),
      body.lines,
    );
    // A change order states its prices (the spec requires unit_price on its lines).
    const revised = inStockUnits.lines.map((l) => ({
      ...l,
      unit_price: must(l.unit_price, 'unit_price of a change order line'),
    }));
    // A line whose unit is refused has no quantity in stock units to check against the order's.
    const errors = inStockUnits.errors.length
      ? inStockUnits.errors
      : await revisionErrors(db, { lines: revised }, lines);
    const byId = new Map(lines.map((l) => [l.id, l]));
    const next: RevisedLine[] = revised.map((l, i) => {
      const was = l.id === undefined ? undefined : byId.get(l.id);
      return {
        id: l.id ?? newId('pol'),
        line_no: i,
        item_id: l.item_id,
        qty: l.qty,
        // The same amount written otherwise (0.5 for 0.50) is no change: the line keeps its own.
        unit_price:
          was && sameAmount(was.unit_price, l.unit_price)
            ? was.unit_price
            : canonical(l.unit_price),
        expected_at: l.expected_at ?? null,
        ...unitColumns(l.given),
      };
    });
    const notes = {
      before: found.notes,
      after: body.notes === undefined ? found.notes : body.notes === '' ? null : body.notes,
    };
    const changes = changesOf(lines, next, notes);
    if (!errors.length && changes.lines.length === 0 && !changes.notes)
      errors.push({
        pointer: '#/lines',
        code: 'no_change',
        detail: `The revision changes nothing on purchase order ${found.id}: no line is added, removed or changed, and the notes stay.`,
      });
    if (errors.length) throw invalid(errors);
    const row = assertChangeable(found, PO, params.id, ifMatch, ['SENT'], 'revised');

    const before = presentPurchaseOrder(row, lines);
    const [open] = await allInOrder([
      openOfOrder(db, row.id),
      // The levels the revision moves incoming on (row.status is SENT), locked first and at once.
      row.ship_to_warehouse_id === null
        ? Promise.resolve()
        : lockIncomingLevels(
            db,
            [...new Set([...lines, ...next].map((l) => l.item_id))].map((item_id) => ({
              item_id,
              warehouse_id: row.ship_to_warehouse_id as string,
            })),
          ),
    ]);
    await reviseLines(db, row.id, next, new Set(lines.map((l) => l.id)));
    // Settled as a receipt or a cancellation settles it: nothing open any more makes it
    // RECEIVED (something received) or CLOSED (nothing was).
    const after = await settleOrder(db, row.id, {
      set: db`revision = p.revision + 1, approved_by = NULL, approved_at = NULL, updated_by = ${actor.sub}, notes = ${notes.after},`,
    });
    const entry = await insertRevision(db, row.id, {
      revision: after.revision,
      actor: actor.sub,
      reason: body.reason,
      changes,
    });
    const po = await toPurchaseOrder(db, after);
    const levelEvents = await incomingEvents(db, row.id, open);
    const events = [purchaseOrderRevisedEvent({ purchase_order: po, revision: entry })];
    if (po.status === 'RECEIVED')
      events.push(purchaseOrderEvent('procurement.purchase_order.received', po));
    if (po.status === 'CLOSED')
      events.push(purchaseOrderEvent('procurement.purchase_order.closed', po));
    await allInOrder([
      audit({
        action: 'purchase_order.revised',
        entity: 'purchase_order',
        entityId: po.id,
        warehouseIds: orderWarehouses(row),
        before,
        after: po,
      }),
      insertEvents(db, [...events, ...levelEvents]),
    ]);
    return { status: 200, body: po, etag: po.etag };
  },

  async listPurchaseOrderRevisions({ db, params, principal, page }) {
    const row = await findPurchaseOrder(db, params.id);
    if (!row) throw notFound(PO, params.id);
    assertVisible(principal, orderWarehouses(row));
    // The key names the order too: a cursor of another order's history is not one of this list.
    const { after, limit } = scopedPage<[string, number]>(principal, page);
    if (after && after[0] !== row.id)
      throw new ProblemError(
        'invalid-cursor',
        'The cursor comes from the revisions of another purchase order. Start again from the first page.',
      );
    const rows = await listRevisions<Changes>(db, row.id, after ? after[1] : null, limit);
    return { status: 200, body: page.result(rows, (r) => [row.id, r.revision]) };
  },
} satisfies Pick<Handlers, 'revisePurchaseOrder' | 'listPurchaseOrderRevisions'>;
