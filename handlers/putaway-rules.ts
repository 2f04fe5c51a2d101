// Putaway rules (docs/locations.md): where an item's stock goes in a warehouse when it comes in
// without a location named. The ledger reads them when it posts; here they are only kept.
import { findLocationByCode } from '../db/locations.ts';
import {
  deletePutawayRule,
  findPutawayRule,
  insertPutawayRule,
  listPutawayRules,
  lockPutawayRuleOf,
  setPutawayLocation,
  type PutawayRuleRow,
} from '../db/putaway-rules.ts';
import { allInOrder } from '../db/client.ts';
import { newId } from '../db/ids.ts';
import { insertEvents } from '../db/outbox.ts';
import type { components } from '../generated/api.ts';
import { assertWarehouses } from '../domain/access.ts';
import { invalid, notFound, type FieldError } from '../domain/problems.ts';
import { putawayRuleEvent } from './lib/catalogue.ts';
import { scopedPage } from './lib/listing.ts';
import { itemErrors, loadReferences, warehouseErrors } from './lib/references.ts';
import type { Handlers } from './types.ts';

type PutawayRule = components['schemas']['PutawayRule'];

const toRule = (row: PutawayRuleRow): PutawayRule => ({
  id: row.id,
  warehouse_id: row.warehouse_id,
  item_id: row.item_id,
  location: row.location,
  created_at: row.created_at,
  updated_at: row.updated_at,
});

/**
 * A concurrent delete can take the rule away between a failed insert and the lock that would
 * replace it; each round of that costs one lost race, so a few rounds are plenty.
 */
const UPSERT_ROUNDS = 3;

export const putawayRuleHandlers = {
  async createPutawayRule({ db, body, principal, actor, audit }) {
    assertWarehouses(principal, body.warehouse_id);
    const [refs, location] = await allInOrder([
      loadReferences(db, [body.item_id], [body.warehouse_id]),
      // FOR SHARE: a concurrent PUT that would deactivate it waits for this transaction, so the
      // rule never names a location that was inactive when it was set.
      findLocationByCode(db, body.warehouse_id, body.location, { share: true }),
    ]);
    const errors: FieldError[] = [
      ...warehouseErrors(refs, body.warehouse_id, '#/warehouse_id'),
      ...itemErrors(refs, body.item_id, '#/item_id'),
    ];
    if (refs.warehouses.has(body.warehouse_id)) {
      if (!location)
        errors.push({
          pointer: '#/location',
          code: 'unknown_location',
          detail: `Warehouse ${body.warehouse_id} has no location ${body.location}.`,
        });
      else if (!location.active)
        errors.push({
          pointer: '#/location',
          code: 'inactive_location',
          detail: `The location ${body.location} of ${body.warehouse_id} is inactive.`,
        });
    }
    if (errors.length) throw invalid(errors);

    // One rule per (warehouse, item), kept by the unique key: the insert either makes it or finds
    // one there (waiting for a concurrent insert to commit), which is then locked and replaced.
    for (let round = 1; ; round++) {
      const created = await insertPutawayRule(db, {
        id: newId('put'),
        warehouse_id: body.warehouse_id,
        item_id: body.item_id,
        location: body.location,
        created_by: actor.sub,
      });
      if (created) {
        const rule = toRule(created);
        await allInOrder([
          audit({
            action: 'putaway_rule.created',
            entity: 'putaway_rule',
            entityId: rule.id,
            warehouseIds: [rule.warehouse_id],
            after: rule,
          }),
          insertEvents(db, [putawayRuleEvent('inventory.putaway_rule.created', rule)]),
        ]);
        return {
          status: 201,
          body: rule,
          location: `/inventory/putaway-rules/${encodeURIComponent(rule.id)}`,
        };
      }
      const current = await lockPutawayRuleOf(db, body.warehouse_id, body.item_id);
      if (!current) {
        if (round < UPSERT_ROUNDS) continue;
        throw new Error(
          `The putaway rule of ${body.item_id} in ${body.warehouse_id} kept vanishing.`,
        );
      }
      // Setting the location it has is no change: nothing to record or announce.
      if (current.location === body.location) return { status: 200, body: toRule(current) };
      const rule = toRule(await setPutawayLocation(db, current.id, body.location));
      await allInOrder([
        audit({
          action: 'putaway_rule.updated',
          entity: 'putaway_rule',
          entityId: rule.id,
          warehouseIds: [rule.warehouse_id],
          before: toRule(current),
          after: rule,
        }),
        insertEvents(db, [putawayRuleEvent('inventory.putaway_rule.updated', rule)]),
      ]);
      return { status: 200, body: rule };
    }
  },

  async getPutawayRule({ db, params, principal }) {
    const row = await findPutawayRule(db, params.id);
    if (!row) throw notFound('putaway rule', params.id);
    assertWarehouses(principal, row.warehouse_id);
    return { status: 200, body: toRule(row) };
  },

  async deletePutawayRule({ db, params, principal, audit }) {
    const row = await findPutawayRule(db, params.id);
    if (!row) throw notFound('putaway rule', params.id);
    assertWarehouses(principal, row.warehouse_id);
    const deleted = await deletePutawayRule(db, row.id);
    // Deleted meanwhile by another request: that one announced it.
    if (!deleted) throw notFound('putaway rule', params.id);
    const rule = toRule(deleted);
    await allInOrder([
      audit({
        action: 'putaway_rule.deleted',
        entity: 'putaway_rule',
        entityId: rule.id,
        warehouseIds: [rule.warehouse_id],
        before: rule,
      }),
      insertEvents(db, [putawayRuleEvent('inventory.putaway_rule.deleted', rule)]),
    ]);
    return { status: 204, body: undefined };
  },

  async listPutawayRules({ db, query, principal, page }) {
    const rows = await listPutawayRules(db, {
      warehouseId: query.warehouse_id,
      itemId: query.item_id,
      ...scopedPage<[string, string]>(principal, page, query.warehouse_id),
    });
    return {
      status: 200,
      body: page.result(rows.map(toRule), (r) => [r.warehouse_id, r.item_id]),
    };
  },
} satisfies Pick<
  Handlers,
  'createPutawayRule' | 'getPutawayRule' | 'deletePutawayRule' | 'listPutawayRules'
>;
