// What a stock level's event shows besides its figures, and the events of the levels whose
// incoming stock a purchase order's change (send, revision, cancellation, close) moved: the
// database changes the figures itself (db/migrations/0022_incoming.sql); these events let a
// reader of the feed keep them exact too.
import { openOfOrder, touchLevels, type OpenOfOrder } from '../../db/availability.ts';
import { allInOrder, type Db } from '../../db/client.ts';
import type { OutboxEvent } from '../../db/outbox.ts';
import {
  batchesOf,
  byKey,
  keyOf,
  type BatchRow,
  type LevelRow,
  type StockKey,
} from '../../db/stock.ts';
import { levelFigures, stockLevelEvent } from './catalogue.ts';
import { micro } from './quantity.ts';
import { loadReferences, type References } from './references.ts';

/** What the events of these levels show besides their figures (items' tracking, batches), in one round trip. */
export async function levelDetails(db: Db, keys: StockKey[]) {
  const [refs, batches] = await allInOrder([
    loadReferences(
      db,
      keys.map((k) => k.item_id),
      [],
    ),
    batchesOf(db, keys),
  ]);
  return detailsOf(refs, batches);
}

export type LevelDetails = ReturnType<typeof detailsOf>;

/** levelDetails from what a caller loaded itself: the levels' items and their batches. */
export function detailsOf(refs: References, batches: BatchRow[]) {
  const byLevel = new Map<string, BatchRow[]>();
  for (const b of batches) {
    const k = keyOf(b.item_id, b.warehouse_id);
    byLevel.set(k, [...(byLevel.get(k) ?? []), b]);
  }
  return (key: StockKey) => ({
    track_by: refs.items.get(key.item_id)?.track_by ?? 'NONE',
    batches: byLevel.get(keyOf(key.item_id, key.warehouse_id)) ?? [],
  });
}

/**
 * After a change of the (locked) order, given what it had open before (openOfOrder): an
 * `inventory.stock_level.changed` (cause: the order) per level whose incoming or undated incoming
 * the change moved, as the change left it.
 */
export async function incomingEvents(
  db: Db,
  poId: string,
  before: OpenOfOrder[],
): Promise<OutboxEvent[]> {
  const after = await openOfOrder(db, poId);
  const figures = new Map<string, { key: StockKey; incoming: bigint; undated: bigint }>();
  const add = (rows: OpenOfOrder[], sign: bigint) => {
    for (const r of rows) {
      const k = keyOf(r.item_id, r.warehouse_id);
      const f = figures.get(k) ?? {
        key: { item_id: r.item_id, warehouse_id: r.warehouse_id },
        incoming: 0n,
        undated: 0n,
      };
      f.incoming += sign * micro(Number(r.incoming));
      f.undated += sign * micro(Number(r.undated));
      figures.set(k, f);
    }
  };
  add(before, -1n);
  add(after, 1n);
  const keys = [...figures]
    .filter(([, f]) => f.incoming !== 0n || f.undated !== 0n)
    .sort(([a], [b]) => byKey(a, b))
    .map(([, f]) => f.key);
  if (!keys.length) return [];
  const [levels, details] = await allInOrder([touchLevels(db, keys), levelDetails(db, keys)]);
  return levelEvents(levels, details, poId);
}

/**
 * An `inventory.stock_level.changed` per level row, as the row says it is now, in the ledger's key
 * order; `details` from levelDetails.
 */
export function levelEvents(
  levels: (LevelRow & { updated_at: string })[],
  details: LevelDetails,
  cause: string,
): OutboxEvent[] {
  const key = (l: StockKey) => keyOf(l.item_id, l.warehouse_id);
  return [...levels]
    .sort((a, b) => byKey(key(a), key(b)))
    .map((l) =>
      stockLevelEvent(
        {
          item_id: l.item_id,
          warehouse_id: l.warehouse_id,
          ...levelFigures(l),
          updated_at: l.updated_at,
          ...details(l),
        },
        cause,
      ),
    );
}
