import type { components } from '../generated/api.ts';
import {
  findItem,
  insertItem,
  itemHasHistory,
  listItems,
  skuTaken,
  stockedIn,
  updateItem,
  type ItemRow,
  type UomConversion,
} from '../db/items.ts';
import { conversionErrors } from './lib/units.ts';
import { allInOrder, type Db } from '../db/client.ts';
import { newId } from '../db/ids.ts';
import { BY_ID_C, keysetKey } from '../db/keyset.ts';
import { notifyItemChanged, type Entry, type ItemIndex, type Unindexed } from '../db/item-index.ts';
import { ProblemError, invalid, notFound, type FieldError } from '../domain/problems.ts';
import { inOnePiece, withJson } from '../domain/json.ts';
import { assertWarehouses } from '../domain/access.ts';
import { assertCurrent, etagOf } from './lib/versioned.ts';
import { listOrder } from './lib/listing.ts';
import { itemEvent } from './lib/catalogue.ts';
import { insertEvents } from '../db/outbox.ts';
import type { Handlers } from './types.ts';

type Item = components['schemas']['Item'];

// Field by field rather than `{ version, ...row }`: searches present thousands of rows a second,
// and object rest/spread costs several times more.
function toItem(row: ItemRow): Item {
  return {
    id: row.id,
    sku: row.sku,
    name: row.name,
    uom: row.uom,
    uom_conversions: row.uom_conversions,
    integral: row.integral,
    track_by: row.track_by,
    active: row.active,
    created_at: row.created_at,
    updated_at: row.updated_at,
    etag: etagOf(row.version),
  };
}

/** An item the index found, serialized only the first time any search presents it. */
function presentIndexed(entry: Entry): Item {
  const item = toItem(entry);
  entry.json ??= inOnePiece(JSON.stringify(item));
  return withJson(item, entry.json);
}

function duplicateSku(sku: string): ProblemError {
  return new ProblemError('duplicate-sku', `Another item already has SKU ${sku}.`, { sku });
}

/** 422 when a conversion names the stock unit or a unit named before (the schema checks the rest). */
function assertConversions(uom: string, conversions: readonly UomConversion[]): void {
  const errors = conversionErrors(uom, conversions);
  if (errors.length)
    throw invalid(
      errors.map((e) => ({
        pointer: `#/uom_conversions/${e.index}/uom`,
        code: e.code,
        detail: e.detail,
      })),
    );
}

/** The most candidates one stock lookup of a warehouse search checks. */
const STOCK_CHECK_MAX = 1024;
/**
 * The most candidates one warehouse search checks for stock, whatever it finds: past it the
 * request answers the page found so far, with a cursor after the last candidate checked.
 */
export const STOCK_CHECK_BUDGET = 4096;

interface StockedPage {
  found: Entry[];
  /** The id of the last candidate checked, when the budget ran out before the page was known. */
  checkedUpTo?: string;
}

/**
 * A search within a warehouse's stock: the index's matches in id order, a growing chunk at a time,
 * kept if the warehouse holds stock of them (looked up by key, stockedIn), until `limit` are found
 * or STOCK_CHECK_BUDGET candidates were checked. So no request runs its pattern over the items
 * table, and none checks more than the budget: a common term in a warehouse holding none of its
 * matches is paged through, a budget per request (docs/decisions/0010-in-memory-item-search-index.md).
 */
async function searchStocked(
  db: Db,
  itemIndex: ItemIndex,
  unindexed: Unindexed | undefined,
  warehouse: string,
  f: { search: string; active?: boolean; afterId?: string; limit: number },
): Promise<StockedPage> {
  const found: Entry[] = [];
  let afterId = f.afterId;
  let budget = STOCK_CHECK_BUDGET;
  // The first chunk is a page: enough when the warehouse holds most of what matches.
  for (let chunk = f.limit; ; chunk = Math.min(2 * chunk, STOCK_CHECK_MAX, budget)) {
    const candidates = itemIndex.search({ ...f, afterId, limit: chunk }, unindexed);
    if (!candidates.length) return { found };
    const stocked = await stockedIn(
      db,
      warehouse,
      candidates.map((e) => e.id),
    );
    for (const entry of candidates) {
      if (!stocked.has(entry.id)) continue;
      found.push(entry);
      if (found.length === f.limit) return { found };
    }
    if (candidates.length < chunk) return { found };
    afterId = candidates[candidates.length - 1].id;
    budget -= candidates.length;
    if (budget === 0) return { found, checkedUpTo: afterId };
  }
}

/**
 * The search index keeps its lists in id order only (db/item-index.ts): a search cannot walk
 * another order without reading every match, so it takes none but its own.
 */
function searchOrderErrors(query: { updated_since?: string; order?: string }): FieldError[] {
  const errors: FieldError[] = [];
  if (query.updated_since !== undefined)
    errors.push({
      pointer: '#/query/updated_since',
      code: 'not_allowed',
      detail: 'updated_since does not combine with search; list without search to sync.',
    });
  if (query.order === 'desc')
    errors.push({
      pointer: '#/query/order',
      code: 'not_allowed',
      detail: 'A search lists in id order only (order=asc).',
    });
  return errors;
}

export const itemHandlers = {
  async createItem({ db, body, audit, itemIndex }) {
    const id = body.id ?? newId('itm');
    const uomConversions = body.uom_conversions ?? [];
    assertConversions(body.uom, uomConversions);
    const row = await insertItem(db, id, {
      sku: body.sku,
      name: body.name,
      uom: body.uom,
      uom_conversions: uomConversions,
      integral: body.integral ?? false,
      track_by: body.track_by,
      active: body.active ?? true,
    });
    if (!row) {
      if (await skuTaken(db, body.sku)) throw duplicateSku(body.sku);
      throw new ProblemError('already-exists', `An item with id ${id} already exists.`, { id });
    }
    itemIndex.expect(id, row.version);
    const item = toItem(row);
    await allInOrder([
      notifyItemChanged(db, id),
      audit({ action: 'item.created', entity: 'item', entityId: id, after: item }),
      insertEvents(db, [itemEvent('inventory.item.created', item)]),
    ]);
    return {
      status: 201,
      body: item,
      etag: item.etag,
      location: `/inventory/items/${encodeURIComponent(id)}`,
    };
  },

  async getItem({ db, params }) {
    const row = await findItem(db, params.id);
    if (!row) throw notFound('item', params.id);
    const item = toItem(row);
    return { status: 200, body: item, etag: item.etag };
  },

  async replaceItem({ db, params, body, ifMatch, audit, itemIndex }) {
    const current = await findItem(db, params.id, { lock: true });
    if (!current) throw notFound('item', params.id);
    assertCurrent(ifMatch, current.version, 'item');
    if (
      body.sku.toLowerCase() !== current.sku.toLowerCase() &&
      (await skuTaken(db, body.sku, current.id))
    )
      throw duplicateSku(body.sku);
    if (body.track_by !== current.track_by && (await itemHasHistory(db, current.id))) {
      throw new ProblemError(
        'invalid-state',
        `Item ${current.id} has stock history, so its track_by (${current.track_by}) can no longer change.`,
        {
          current_status: current.track_by,
        },
      );
    }
    // Absent keeps what the item has: a client written before units existed must not erase them.
    const fields = {
      ...body,
      uom_conversions: body.uom_conversions ?? current.uom_conversions,
      integral: body.integral ?? current.integral,
    };
    assertConversions(fields.uom, fields.uom_conversions);
    const updated = await updateItem(db, current.id, fields);
    itemIndex.expect(current.id, updated.version);
    const item = toItem(updated);
    await allInOrder([
      notifyItemChanged(db, current.id),
      audit({
        action: 'item.updated',
        entity: 'item',
        entityId: current.id,
        before: toItem(current),
        after: item,
      }),
      insertEvents(db, [itemEvent('inventory.item.updated', item)]),
    ]);
    return { status: 200, body: item, etag: item.etag };
  },

  async listItems({ db, query, principal, page, itemIndex, feed }) {
    if (query.warehouse) assertWarehouses(principal, query.warehouse);
    if (query.search === undefined) {
      const keyset = listOrder(BY_ID_C, query);
      const rows = await listItems(db, {
        warehouse: query.warehouse,
        active: query.active,
        keyset,
        after: page.after,
        limit: page.limit,
      });
      return { status: 200, body: page.result(rows.map(toItem), keysetKey(keyset)) };
    }
    const errors = searchOrderErrors(query);
    if (errors.length) throw invalid(errors);
    const afterId = page.after?.[0] as string | undefined;
    const byId = (item: Item) => [item.id];
    // Searches come from the in-memory index, with this instance's own item writes not indexed yet
    // read by key, and a warehouse's stock checked by key: never a pattern over the items table.
    const unindexed = await itemIndex.unindexed(db);
    const f = { search: query.search, active: query.active, afterId, limit: page.limit + 1 };
    const { found, checkedUpTo }: StockedPage =
      query.warehouse === undefined
        ? { found: itemIndex.search(f, unindexed) }
        : await searchStocked(db, itemIndex, unindexed, query.warehouse, f);
    const body = page.result(
      found.map(presentIndexed),
      byId,
      checkedUpTo === undefined ? undefined : [checkedUpTo],
    );
    // What the index reflects, not the database: a change it lacks comes after this in the feed.
    body.page.events_after = feed.cursor(itemIndex.feedPosition);
    return { status: 200, body };
  },
} satisfies Pick<Handlers, 'createItem' | 'getItem' | 'replaceItem' | 'listItems'>;
