// Locations inside a warehouse (bins, racks, docks), and the stock each holds (location levels).
// The ledger writes location levels (db/ledger.ts); this module only reads them.
import type { Db } from './client.ts';

export type LocationType = 'STORAGE' | 'RECEIVING' | 'SHIPPING';

export interface LocationRow {
  id: string;
  warehouse_id: string;
  code: string;
  type: LocationType;
  pick_order: number;
  active: boolean;
  version: number;
  created_at: string;
  updated_at: string;
}

const columns = (db: Db) =>
  db`id, warehouse_id, code, type, pick_order, active, version, created_at, updated_at`;

/** Inserts the location; null when its warehouse already has the code (unique key). */
export async function insertLocation(
  db: Db,
  l: Pick<LocationRow, 'id' | 'warehouse_id' | 'code' | 'type' | 'pick_order' | 'active'>,
): Promise<LocationRow | null> {
  const [row] = await db<LocationRow[]>`
    INSERT INTO locations (id, warehouse_id, code, type, pick_order, active)
    VALUES (${l.id}, ${l.warehouse_id}, ${l.code}, ${l.type}, ${l.pick_order}, ${l.active})
    ON CONFLICT (warehouse_id, code) DO NOTHING
    RETURNING ${columns(db)}`;
  return row ?? null;
}

export async function findLocation(
  db: Db,
  id: string,
  { lock = false } = {},
): Promise<LocationRow | null> {
  const [row] = await db<LocationRow[]>`
    SELECT ${columns(db)} FROM locations WHERE id = ${id} ${lock ? db`FOR UPDATE` : db``}`;
  return row ?? null;
}

/**
 * The location of a warehouse with this code. With `share`, locked against changes (FOR SHARE)
 * until the transaction ends, so that what the caller checked of it (active) stays true.
 */
export async function findLocationByCode(
  db: Db,
  warehouseId: string,
  code: string,
  { share = false } = {},
): Promise<LocationRow | null> {
  const [row] = await db<LocationRow[]>`
    SELECT ${columns(db)} FROM locations WHERE warehouse_id = ${warehouseId} AND code = ${code}
    ${share ? db`FOR SHARE` : db``}`;
  return row ?? null;
}

export async function updateLocation(
  db: Db,
  id: string,
  f: Pick<LocationRow, 'type' | 'pick_order' | 'active'>,
): Promise<LocationRow> {
  const [row] = await db<LocationRow[]>`
    UPDATE locations
    SET type = ${f.type}, pick_order = ${f.pick_order}, active = ${f.active},
        version = version + 1, updated_at = now()
    WHERE id = ${id}
    RETURNING ${columns(db)}`;
  return row;
}

/** A warehouse's locations by code (the unique key (warehouse_id, code) serves it). */
export async function listLocations(
  db: Db,
  f: {
    warehouseId: string;
    type?: LocationType;
    active?: boolean;
    after: [string] | null;
    limit: number;
  },
): Promise<LocationRow[]> {
  return db<LocationRow[]>`
    SELECT ${columns(db)} FROM locations
    WHERE warehouse_id = ${f.warehouseId}
      ${f.type === undefined ? db`` : db`AND type = ${f.type}`}
      ${f.active === undefined ? db`` : db`AND active = ${f.active}`}
      ${f.after === null ? db`` : db`AND code > ${f.after[0]}`}
    ORDER BY code
    LIMIT ${f.limit + 1}`;
}

export interface LocationLevelRow {
  item_id: string;
  warehouse_id: string;
  location: string;
  /** '' for items not tracked by batch. */
  batch: string;
  on_hand: number;
  quality_control: number;
  damaged: number;
  updated_at: string;
}

export type LocationLevelKey = [string, string, string, string];

/** Location levels holding stock, in (item_id, warehouse_id, location, batch) order. */
export async function listLocationLevels(
  db: Db,
  f: {
    itemId?: string;
    warehouseId?: string;
    location?: string;
    allowed: string[] | null;
    after: LocationLevelKey | null;
    limit: number;
  },
): Promise<LocationLevelRow[]> {
  return db<LocationLevelRow[]>`
    SELECT item_id, warehouse_id, location, batch, on_hand, quality_control, damaged, updated_at
    FROM location_levels
    WHERE on_hand > 0
      ${f.itemId === undefined ? db`` : db`AND item_id = ${f.itemId}`}
      ${f.warehouseId === undefined ? db`` : db`AND warehouse_id = ${f.warehouseId}`}
      ${f.location === undefined ? db`` : db`AND location = ${f.location}`}
      ${f.allowed === null ? db`` : db`AND warehouse_id = ANY(${f.allowed})`}
      ${
        f.after === null
          ? db``
          : db`AND (item_id, warehouse_id, location, batch) > (${f.after[0]}, ${f.after[1]}, ${f.after[2]}, ${f.after[3]})`
      }
    ORDER BY item_id, warehouse_id, location, batch
    LIMIT ${f.limit + 1}`;
}
