// Locations inside a warehouse, and the stock each holds (docs/locations.md). A location belongs to
// its warehouse: a token restricted by a warehouses claim reads and writes only its warehouses'.
import {
  findLocation,
  insertLocation,
  listLocationLevels,
  listLocations,
  updateLocation,
  type LocationLevelKey,
  type LocationRow,
} from '../db/locations.ts';
import { findWarehouse } from '../db/warehouses.ts';
import { newId } from '../db/ids.ts';
import { allInOrder } from '../db/client.ts';
import { insertEvents } from '../db/outbox.ts';
import type { components } from '../generated/api.ts';
import { assertWarehouses } from '../domain/access.ts';
import { ProblemError, invalid, notFound, type FieldError } from '../domain/problems.ts';
import { locationEvent } from './lib/catalogue.ts';
import { DEFAULT_LOCATION } from './lib/locations.ts';
import { scopedPage } from './lib/listing.ts';
import { assertCurrent, etagOf } from './lib/versioned.ts';
import type { Handlers } from './types.ts';

type Location = components['schemas']['Location'];
type LocationLevel = components['schemas']['LocationLevel'];

/** The location every warehouse has, made with it: where stock goes when nothing names one. */

function toLocation(row: LocationRow): Location {
  return {
    id: row.id,
    warehouse_id: row.warehouse_id,
    code: row.code,
    type: row.type,
    pick_order: row.pick_order,
    active: row.active,
    etag: etagOf(row.version),
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

const locationUrl = (id: string) => `/inventory/locations/${encodeURIComponent(id)}`;

export const locationHandlers = {
  async listLocations({ db, params, query, principal, page }) {
    assertWarehouses(principal, params.id);
    // An empty page would not tell a warehouse without locations from one that does not exist;
    // every warehouse has DEFAULT, so a warehouse with none is unknown.
    const [warehouse, rows] = await allInOrder([
      findWarehouse(db, params.id),
      listLocations(db, {
        warehouseId: params.id,
        type: query.type,
        active: query.active,
        after: page.after as [string] | null,
        limit: page.limit,
      }),
    ]);
    if (!warehouse) throw notFound('warehouse', params.id);
    return { status: 200, body: page.result(rows.map(toLocation), (l) => [l.code]) };
  },

  async createLocation({ db, params, body, principal, audit }) {
    assertWarehouses(principal, params.id);
    if (!(await findWarehouse(db, params.id))) throw notFound('warehouse', params.id);
    const row = await insertLocation(db, {
      id: newId('loc'),
      warehouse_id: params.id,
      code: body.code,
      type: body.type ?? 'STORAGE',
      pick_order: body.pick_order ?? 0,
      active: body.active ?? true,
    });
    // The unique key decides between concurrent creates of one code: exactly one inserts.
    if (!row)
      throw new ProblemError(
        'duplicate-code',
        `Warehouse ${params.id} already has a location ${body.code}.`,
        { warehouse_id: params.id, code: body.code },
      );
    const location = toLocation(row);
    await allInOrder([
      audit({
        action: 'location.created',
        entity: 'location',
        entityId: location.id,
        warehouseIds: [location.warehouse_id],
        after: location,
      }),
      insertEvents(db, [locationEvent('inventory.location.created', location)]),
    ]);
    return {
      status: 201,
      body: location,
      etag: location.etag,
      location: locationUrl(location.id),
    };
  },

  async getLocation({ db, params, principal }) {
    const row = await findLocation(db, params.id);
    if (!row) throw notFound('location', params.id);
    assertWarehouses(principal, row.warehouse_id);
    const location = toLocation(row);
    return { status: 200, body: location, etag: location.etag };
  },

  async replaceLocation({ db, params, body, principal, ifMatch, audit }) {
    const current = await findLocation(db, params.id, { lock: true });
    if (!current) throw notFound('location', params.id);
    assertWarehouses(principal, current.warehouse_id);
    assertCurrent(ifMatch, current.version, 'location');
    const errors: FieldError[] = [];
    // Posted move lines name locations by code, so a code is for good.
    if (body.code !== undefined && body.code !== current.code)
      errors.push({
        pointer: '#/code',
        code: 'immutable',
        detail: `A location's code never changes: this one is ${current.code}.`,
      });
    if (current.code === DEFAULT_LOCATION && !body.active)
      errors.push({
        pointer: '#/active',
        code: 'default_location',
        detail: 'DEFAULT cannot be deactivated: it takes the stock no location is named for.',
      });
    if (errors.length) throw invalid(errors);
    // Deactivating refuses only what comes later (stock put there, putaway rules naming it): what
    // it holds stays and can be taken out.
    const location = toLocation(await updateLocation(db, current.id, body));
    await allInOrder([
      audit({
        action: 'location.updated',
        entity: 'location',
        entityId: location.id,
        warehouseIds: [location.warehouse_id],
        before: toLocation(current),
        after: location,
      }),
      insertEvents(db, [locationEvent('inventory.location.updated', location)]),
    ]);
    return { status: 200, body: location, etag: location.etag };
  },

  async listLocationLevels({ db, query, principal, page }) {
    if (query.location !== undefined && query.warehouse_id === undefined)
      throw invalid([
        {
          pointer: '#/query/location',
          code: 'location_without_warehouse',
          detail:
            'A location code names a location only within a warehouse: give warehouse_id too.',
        },
      ]);
    const scope = scopedPage<LocationLevelKey>(principal, page, query.warehouse_id);
    const rows = await listLocationLevels(db, {
      itemId: query.item_id,
      warehouseId: query.warehouse_id,
      location: query.location,
      ...scope,
    });
    return {
      status: 200,
      body: page.result(
        rows.map(
          (r): LocationLevel => ({
            item_id: r.item_id,
            warehouse_id: r.warehouse_id,
            location: r.location,
            // Items not tracked by batch are stored under '' (a key needs no NULL); shown without.
            ...(r.batch !== '' && { batch: r.batch }),
            on_hand: r.on_hand,
            quality_control: r.quality_control,
            damaged: r.damaged,
            updated_at: r.updated_at,
          }),
        ),
        (l) => [l.item_id, l.warehouse_id, l.location, l.batch ?? ''],
      ),
    };
  },
} satisfies Pick<
  Handlers,
  'listLocations' | 'createLocation' | 'getLocation' | 'replaceLocation' | 'listLocationLevels'
>;
