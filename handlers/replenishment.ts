import {
  findRun,
  insertRun,
  listSuggestions,
  markRequisitioned,
  suggest,
  suggestionsOf,
  type RunRow,
  type SuggestionRow,
} from '../db/replenishment.ts';
import { insertRequisition, replaceRequisitionLines } from '../db/requisitions.ts';
import { findItems } from '../db/items.ts';
import { allInOrder, type Db } from '../db/client.ts';
import { insertEvents } from '../db/outbox.ts';
import { newId } from '../db/ids.ts';
import type { components } from '../generated/api.ts';
import { assertVisible, assertWarehouses, type Principal } from '../domain/access.ts';
import { invalid, invalidField, notFound, type FieldError } from '../domain/problems.ts';
import { present } from './lib/documents.ts';
import { loadReferences, warehouseErrors } from './lib/references.ts';
import { warehouseRequired } from './lib/procurement-access.ts';
import { replenishmentRunEvent } from './lib/catalogue.ts';
import { toStockPrice } from './lib/units.ts';
import { requisitionCreated } from './requisitions.ts';
import type { Handlers } from './types.ts';

type Suggestion = components['schemas']['ReplenishmentSuggestion'];
const RUN = 'replenishment run';

const toRun = (row: RunRow): components['schemas']['ReplenishmentRun'] => present(row);

function toSuggestion(row: SuggestionRow): Suggestion {
  const { run_id: _, rule_id, policy, on_hand, reserved, held, incoming, on_order, ...rest } = row;
  const { min_qty, max_qty, reorder_qty, ...what } = rest;
  return {
    ...present(what),
    basis: present({
      rule_id,
      policy,
      on_hand,
      reserved,
      held,
      incoming,
      on_order,
      min_qty,
      max_qty,
      reorder_qty,
    }),
  };
}

/** The run, 404 when there is none; 403 when the token may not see its warehouse (or it has none). */
async function visibleRun(db: Db, principal: Principal, id: string, lock = false): Promise<RunRow> {
  const run = await findRun(db, id, { lock });
  if (!run) throw notFound(RUN, id);
  assertVisible(principal, run.warehouse_id === null ? [] : [run.warehouse_id]);
  return run;
}

export const replenishmentHandlers = {
  async createReplenishmentRun({ db, body, principal, actor, audit }) {
    const warehouseId = body?.warehouse_id;
    assertWarehouses(principal, warehouseId);
    const errors: FieldError[] =
      warehouseId === undefined
        ? warehouseRequired(principal, undefined, '#/warehouse_id', 'the run')
        : warehouseErrors(
            await loadReferences(db, [], [warehouseId]),
            warehouseId,
            '#/warehouse_id',
          );
    if (errors.length) throw invalid(errors);
    const id = newId('rpl');
    await insertRun(db, { id, warehouse_id: warehouseId ?? null, created_by: actor.sub });
    const run = toRun(await suggest(db, id, warehouseId ?? null));
    await allInOrder([
      audit({
        action: 'replenishment_run.created',
        entity: 'replenishment_run',
        entityId: id,
        warehouseIds: warehouseId === undefined ? [] : [warehouseId],
        after: run,
      }),
      insertEvents(db, [replenishmentRunEvent(run)]),
    ]);
    return { status: 201, body: run, location: `/procurement/replenishment-runs/${id}` };
  },

  async getReplenishmentRun({ db, params, principal }) {
    return { status: 200, body: toRun(await visibleRun(db, principal, params.id)) };
  },

  async listReplenishmentSuggestions({ db, params, principal, page }) {
    await visibleRun(db, principal, params.id);
    const rows = await listSuggestions(db, {
      runId: params.id,
      after: page.after as [string] | null,
      limit: page.limit,
    });
    return { status: 200, body: page.result(rows.map(toSuggestion), (s) => [s.id]) };
  },

  async createReplenishmentRequisition(ctx) {
    const { db, params, body, principal, actor, audit } = ctx;
    // The run's lock serializes requisitions of its suggestions: one goes on one requisition.
    const run = await visibleRun(db, principal, params.id, true);
    const asked = body?.suggestion_ids ?? null;
    const rows = await suggestionsOf(db, run.id, asked);
    const errors: FieldError[] = [];
    if (asked) {
      const found = new Map(rows.map((r) => [r.id, r]));
      asked.forEach((id, i) => {
        const row = found.get(id);
        if (!row)
          errors.push({
            pointer: `#/suggestion_ids/${i}`,
            code: 'unknown_suggestion',
            detail: `${id} is not a suggestion of run ${run.id}.`,
          });
        else if (row.requisition_id !== null)
          errors.push({
            pointer: `#/suggestion_ids/${i}`,
            code: 'already_requisitioned',
            detail: `${id} is already on requisition ${row.requisition_id}.`,
          });
      });
    }
    if (errors.length) throw invalid(errors);
    const taken = rows.filter((r) => r.requisition_id === null);
    if (!taken.length)
      throw invalidField(
        '#',
        'nothing_to_requisition',
        rows.length
          ? `Every suggestion of run ${run.id} is already on a requisition.`
          : `Run ${run.id} suggested nothing.`,
      );
    assertWarehouses(principal, ...taken.map((s) => s.warehouse_id));
    const items = new Map(
      (await findItems(db, [...new Set(taken.map((s) => s.item_id))])).map((i) => [i.id, i]),
    );
    const requisitionRow = await insertRequisition(db, {
      id: newId('req'),
      requester_id: actor.sub,
      created_by: actor.sub,
      notes: `Replenishment run ${run.id}`,
    });
    await replaceRequisitionLines(
      db,
      requisitionRow.id,
      taken.map((s) => {
        const item = items.get(s.item_id);
        // The price per stock unit when it converts exactly; else converting prices it again
        // from the vendor item's break.
        const price =
          s.unit_price !== null && item ? toStockPrice(item, s.uom, s.unit_price) : null;
        return {
          item_id: s.item_id,
          qty: s.qty,
          warehouse_id: s.warehouse_id,
          ...(s.vendor_id !== null && { vendor_id: s.vendor_id }),
          ...(price?.ok && { unit_price: price.value }),
          ...(s.needed_by !== null && { needed_by: s.needed_by }),
        };
      }),
    );
    await markRequisitioned(
      db,
      taken.map((s) => s.id),
      requisitionRow.id,
    );
    return requisitionCreated(db, audit, requisitionRow);
  },
} satisfies Pick<
  Handlers,
  | 'createReplenishmentRun'
  | 'getReplenishmentRun'
  | 'listReplenishmentSuggestions'
  | 'createReplenishmentRequisition'
>;
