// The events of the catalogue (docs/events.md), built where a change is made: one builder per
// resource, each knowing which warehouses its resource belongs to, by the rule the resource's
// visibility uses (domain/access.ts; procurement-access.ts for documents). A handler collects the
// events of its transaction and sends them with one insertEvents, after its last lock and update
// (db/outbox.ts says why).
import { newEvent, type EventData, type EventType, type OutboxEvent } from '../../db/outbox.ts';
import type { ExpiredReservation } from '../../db/reservations.ts';
import type { BatchRow, LevelRow, StockKey } from '../../db/stock.ts';
import type { components } from '../../generated/api.ts';
import { orderWarehouses, requisitionWarehouses } from './procurement-access.ts';
import { micro, toNumber, type Micro } from './quantity.ts';
import { toReservation, type StockMove } from './representation.ts';

type Schemas = components['schemas'];
/** The types of events whose `data` is a T. */
type TypesOf<T> = { [K in EventType]: EventData[K] extends T ? K : never }[EventType];

export const stockMoveEvent = (
  type: TypesOf<StockMove>,
  move: StockMove,
  timestamp?: string,
): OutboxEvent => newEvent(type, move, [move.from_wh, move.to_wh], timestamp);

export const reservationEvent = (
  type: TypesOf<Schemas['Reservation']>,
  reservation: Schemas['Reservation'],
  timestamp?: string,
): OutboxEvent => newEvent(type, reservation, [reservation.warehouse_id], timestamp);

// Items and vendors are global: their events belong to no warehouse and every token sees them
// (domain/events.ts isGlobalEventType). A warehouse is its own: a restricted token sees only its
// warehouses (GET answers 403 for the others), so it sees only their events.
export const itemEvent = (type: TypesOf<Schemas['Item']>, item: Schemas['Item']): OutboxEvent =>
  newEvent(type, item, []);
export const warehouseEvent = (
  type: TypesOf<Schemas['Warehouse']>,
  warehouse: Schemas['Warehouse'],
): OutboxEvent => newEvent(type, warehouse, [warehouse.id]);
export const vendorEvent = (
  type: TypesOf<Schemas['Vendor']>,
  vendor: Schemas['Vendor'],
): OutboxEvent => newEvent(type, vendor, []);

/** A location is its warehouse's, as the warehouse is its own. */
export const locationEvent = (
  type: TypesOf<Schemas['Location']>,
  location: Schemas['Location'],
): OutboxEvent => newEvent(type, location, [location.warehouse_id]);

/** A putaway rule is its warehouse's. */
export const putawayRuleEvent = (
  type: TypesOf<Schemas['PutawayRule']>,
  rule: Schemas['PutawayRule'],
): OutboxEvent => newEvent(type, rule, [rule.warehouse_id]);

/** Vendor items are global, as their vendors and items are. */
export const vendorItemEvent = (
  type: TypesOf<Schemas['VendorItem']>,
  vendorItem: Schemas['VendorItem'],
): OutboxEvent => newEvent(type, vendorItem, []);

/**
 * `receipt` as built for the audience of the event's warehouses (forAudience in
 * handlers/receipts.ts). With `before`, a change that may have moved the receipt: readers of
 * either warehouse learn of it, those of the old one that it left.
 */
export const receiptEvent = (
  type: TypesOf<Schemas['Receipt']>,
  receipt: Schemas['Receipt'],
  before?: Schemas['Receipt'],
): OutboxEvent => newEvent(type, receipt, [receipt.warehouse_id, before?.warehouse_id]);

/** A status change is its warehouse's. */
export const statusChangeEvent = (statusChange: Schemas['StatusChange']): OutboxEvent =>
  newEvent('inventory.status_change.posted', statusChange, [statusChange.warehouse_id]);

/** A vendor return is its warehouse's, as a receipt is. */
export const vendorReturnEvent = (
  type: TypesOf<Schemas['VendorReturn']>,
  vendorReturn: Schemas['VendorReturn'],
): OutboxEvent => newEvent(type, vendorReturn, [vendorReturn.warehouse_id]);

/**
 * With `before`, a change that may have moved its lines: readers of every warehouse they named
 * or name learn of it, those of one they no longer name that it left.
 */
export const requisitionEvent = (
  type: TypesOf<Schemas['Requisition']>,
  requisition: Schemas['Requisition'],
  before?: Schemas['Requisition'],
): OutboxEvent =>
  newEvent(type, requisition, [
    ...requisitionWarehouses(requisition.lines),
    ...requisitionWarehouses(before?.lines ?? []),
  ]);

/** With `before`, a change that may have moved the order: readers of either warehouse learn of it. */
export const purchaseOrderEvent = (
  type: TypesOf<Schemas['PurchaseOrder']>,
  po: Schemas['PurchaseOrder'],
  before?: Schemas['PurchaseOrder'],
): OutboxEvent =>
  newEvent(type, po, [
    ...orderWarehouses({ ship_to_warehouse_id: po.ship_to_warehouse_id ?? null }),
    ...(before
      ? orderWarehouses({ ship_to_warehouse_id: before.ship_to_warehouse_id ?? null })
      : []),
  ]);

/** A change order: the order as it left it, with its history entry; of the order's warehouse. */
export const purchaseOrderRevisedEvent = (
  data: Schemas['PurchaseOrderRevisedEventData'],
): OutboxEvent =>
  newEvent(
    'procurement.purchase_order.revised',
    data,
    orderWarehouses({ ship_to_warehouse_id: data.purchase_order.ship_to_warehouse_id ?? null }),
  );

/** An invoice belongs to its order's warehouse. */
export const invoiceEvent = (
  type: TypesOf<Schemas['Invoice']>,
  invoice: Schemas['Invoice'],
  po: { ship_to_warehouse_id: string | null },
): OutboxEvent => newEvent(type, invoice, orderWarehouses(po));

/** A level's figures after a change, with what the list shows besides them. */
export interface LevelState extends StockKey {
  onHand: Micro;
  reserved: Micro;
  incoming: Micro;
  undatedIncoming: Micro;
  qualityControl: Micro;
  damaged: Micro;
  updated_at: string;
  track_by: Schemas['Item']['track_by'];
  /** Its batch levels, any order (stockLevelEvent puts them in the list's). */
  batches: BatchRow[];
}

/** A level row's figures as LevelState has them. */
export const levelFigures = (l: Omit<LevelRow, keyof StockKey>) => ({
  onHand: micro(l.on_hand),
  reserved: micro(l.reserved),
  incoming: micro(l.incoming),
  undatedIncoming: micro(l.undated_incoming),
  qualityControl: micro(l.quality_control),
  damaged: micro(l.damaged),
});

const byExpiryThenBatch = (a: BatchRow, b: BatchRow) =>
  a.expires_at === b.expires_at
    ? a.batch < b.batch
      ? -1
      : a.batch > b.batch
        ? 1
        : 0
    : a.expires_at === null
      ? 1
      : b.expires_at === null
        ? -1
        : a.expires_at < b.expires_at
          ? -1
          : 1;

/** The level as GET /inventory/stock-levels lists it (handlers/stock.ts shows rows with this too); `batches` in the list's order. */
export function presentLevel(level: {
  item_id: string;
  warehouse_id: string;
  on_hand: number;
  reserved: number;
  available: number;
  incoming: number;
  undated_incoming: number;
  quality_control: number;
  damaged: number;
  updated_at: string;
  track_by: Schemas['Item']['track_by'];
  batches: BatchRow[];
}): Schemas['StockLevel'] {
  const { track_by, batches, ...figures } = level;
  if (track_by !== 'BATCH') return figures;
  return {
    ...figures,
    batches: batches
      .filter((b) => b.on_hand > 0)
      // A batch's held figures only when it holds some: a batch without them is all unrestricted.
      .map(({ batch, on_hand, quality_control, damaged, expires_at }) => ({
        batch,
        on_hand,
        ...(quality_control > 0 && { quality_control }),
        ...(damaged > 0 && { damaged }),
        expires_at,
      })),
  };
}

/** `inventory.stock_level.changed`: the level after the change made by `cause` (a move's or reservation's id). */
export function stockLevelEvent(level: LevelState, cause: string, timestamp?: string): OutboxEvent {
  const data = {
    ...presentLevel({
      item_id: level.item_id,
      warehouse_id: level.warehouse_id,
      on_hand: toNumber(level.onHand),
      reserved: toNumber(level.reserved),
      available: toNumber(level.onHand - level.reserved - level.qualityControl - level.damaged),
      incoming: toNumber(level.incoming),
      undated_incoming: toNumber(level.undatedIncoming),
      quality_control: toNumber(level.qualityControl),
      damaged: toNumber(level.damaged),
      updated_at: level.updated_at,
      track_by: level.track_by,
      batches: [...level.batches].sort(byExpiryThenBatch),
    }),
    cause,
  };
  return newEvent('inventory.stock_level.changed', data, [level.warehouse_id], timestamp);
}

/**
 * The events of reservations that expired (lockLevels on a writer's path, or the sweeper): per
 * reservation its `inventory.reservation.expired`, then its level as that expiry left it. Several
 * expiring on one level at once are taken in id order, each level event showing the quantity the
 * ones after it still held.
 */
export function expiryEvents(
  expired: ExpiredReservation[],
  levelOf: (key: StockKey) => Pick<LevelState, 'track_by' | 'batches'>,
): OutboxEvent[] {
  const events: OutboxEvent[] = [];
  // Rows come ordered by level, then id (expireDue).
  expired.forEach((r, i) => {
    let stillHeld = 0n;
    for (let j = i + 1; j < expired.length; j++) {
      const later = expired[j];
      if (later.item_id !== r.item_id || later.warehouse_id !== r.warehouse_id) break;
      stillHeld += micro(later.qty);
    }
    const { level, ...row } = r;
    events.push(reservationEvent('inventory.reservation.expired', toReservation(row)));
    events.push(
      stockLevelEvent(
        {
          item_id: r.item_id,
          warehouse_id: r.warehouse_id,
          ...levelFigures(level),
          reserved: micro(level.reserved) + stillHeld,
          updated_at: level.updated_at,
          ...levelOf(r),
        },
        r.id,
      ),
    );
  });
  return events;
}

/** A reorder rule is its warehouse's. */
export const reorderRuleEvent = (
  type: TypesOf<Schemas['ReorderRule']>,
  rule: Schemas['ReorderRule'],
): OutboxEvent => newEvent(type, rule, [rule.warehouse_id]);

/** A run is its warehouse's; a run of every warehouse belongs to none (unrestricted readers only). */
export const replenishmentRunEvent = (run: Schemas['ReplenishmentRun']): OutboxEvent =>
  newEvent('procurement.replenishment_run.created', run, [run.warehouse_id]);
