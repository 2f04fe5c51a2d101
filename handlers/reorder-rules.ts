import {
  deleteReorderRule,
  findReorderRule,
  findRuleCollision,
  insertReorderRule,
  listReorderRules,
  updateReorderRule,
  type ReorderRuleRow,
  type ReorderRuleTerms,
} from '../db/reorder-rules.ts';
import { allInOrder } from '../db/client.ts';
import { insertEvents } from '../db/outbox.ts';
import { newId } from '../db/ids.ts';
import { BY_ID, keysetKey } from '../db/keyset.ts';
import type { components } from '../generated/api.ts';
import { assertVisible, assertWarehouses } from '../domain/access.ts';
import { ProblemError, invalid, notFound, type FieldError } from '../domain/problems.ts';
import { present, withEtag } from './lib/documents.ts';
import { itemErrors, loadReferences, warehouseErrors } from './lib/references.ts';
import { listOrder, scopedPage } from './lib/listing.ts';
import { assertCurrent } from './lib/versioned.ts';
import { reorderRuleEvent } from './lib/catalogue.ts';
import { micro } from './lib/quantity.ts';
import type { Handlers } from './types.ts';

type ReorderRule = components['schemas']['ReorderRule'];
const RULE = 'reorder rule';

const toRule = (row: ReorderRuleRow): ReorderRule => withEtag(present(row));

/** Each policy has its quantity, and only it; MIN_MAX orders up to at least its minimum. */
function policyErrors(body: components['schemas']['ReorderRuleUpdate']): FieldError[] {
  const errors: FieldError[] = [];
  const [needed, other] =
    body.policy === 'MIN_MAX'
      ? (['max_qty', 'reorder_qty'] as const)
      : (['reorder_qty', 'max_qty'] as const);
  if (body[needed] === undefined)
    errors.push({
      pointer: `#/${needed}`,
      code: 'required',
      detail: `A ${body.policy} rule needs ${needed}.`,
    });
  if (body[other] !== undefined)
    errors.push({
      pointer: `#/${other}`,
      code: 'not_allowed',
      detail: `A ${body.policy} rule has no ${other}.`,
    });
  if (
    body.policy === 'MIN_MAX' &&
    body.max_qty !== undefined &&
    micro(body.max_qty) < micro(body.min_qty)
  )
    errors.push({
      pointer: '#/max_qty',
      code: 'max_below_min',
      detail: `max_qty (${body.max_qty}) must be at least min_qty (${body.min_qty}).`,
    });
  return errors;
}

const termsOf = (body: components['schemas']['ReorderRuleUpdate']): ReorderRuleTerms => ({
  policy: body.policy,
  min_qty: body.min_qty,
  max_qty: body.max_qty ?? null,
  reorder_qty: body.reorder_qty ?? null,
});

export const reorderRuleHandlers = {
  async createReorderRule({ db, body, principal, audit }) {
    assertWarehouses(principal, body.warehouse_id);
    const refs = await loadReferences(db, [body.item_id], [body.warehouse_id]);
    const errors = [
      ...itemErrors(refs, body.item_id, '#/item_id'),
      ...warehouseErrors(refs, body.warehouse_id, '#/warehouse_id'),
      ...policyErrors(body),
    ];
    if (errors.length) throw invalid(errors);
    const id = body.id ?? newId('ror');
    const row = await insertReorderRule(db, {
      id,
      item_id: body.item_id,
      warehouse_id: body.warehouse_id,
      ...termsOf(body),
    });
    if (!row) {
      const taken = await findRuleCollision(db, id, body.item_id, body.warehouse_id);
      throw new ProblemError(
        'already-exists',
        taken?.id === id
          ? `A reorder rule with id ${id} already exists.`
          : `${body.warehouse_id} already has a reorder rule for ${body.item_id}: ${taken?.id} (replace it with PUT).`,
        { id: taken?.id ?? id },
      );
    }
    const rule = toRule(row);
    await allInOrder([
      audit({
        action: 'reorder_rule.created',
        entity: 'reorder_rule',
        entityId: id,
        warehouseIds: [rule.warehouse_id],
        after: rule,
      }),
      insertEvents(db, [reorderRuleEvent('inventory.reorder_rule.created', rule)]),
    ]);
    return {
      status: 201,
      body: rule,
      etag: rule.etag,
      location: `/inventory/reorder-rules/${encodeURIComponent(id)}`,
    };
  },

  async getReorderRule({ db, params, principal }) {
    const row = await findReorderRule(db, params.id);
    if (!row) throw notFound(RULE, params.id);
    assertVisible(principal, [row.warehouse_id]);
    const rule = toRule(row);
    return { status: 200, body: rule, etag: rule.etag };
  },

  async replaceReorderRule({ db, params, body, principal, ifMatch, audit }) {
    const current = await findReorderRule(db, params.id, { lock: true });
    if (!current) throw notFound(RULE, params.id);
    assertVisible(principal, [current.warehouse_id]);
    const errors = policyErrors(body);
    if (errors.length) throw invalid(errors);
    assertCurrent(ifMatch, current.version, RULE);
    const rule = toRule(await updateReorderRule(db, current.id, termsOf(body)));
    await allInOrder([
      audit({
        action: 'reorder_rule.updated',
        entity: 'reorder_rule',
        entityId: rule.id,
        warehouseIds: [rule.warehouse_id],
        before: toRule(current),
        after: rule,
      }),
      insertEvents(db, [reorderRuleEvent('inventory.reorder_rule.updated', rule)]),
    ]);
    return { status: 200, body: rule, etag: rule.etag };
  },

  async deleteReorderRule({ db, params, principal, ifMatch, audit }) {
    const current = await findReorderRule(db, params.id, { lock: true });
    if (!current) throw notFound(RULE, params.id);
    assertVisible(principal, [current.warehouse_id]);
    // If-Match is optional here; when sent, it must name the current version.
    if (ifMatch !== undefined) assertCurrent(ifMatch, current.version, RULE);
    await deleteReorderRule(db, current.id);
    const rule = toRule(current);
    await allInOrder([
      audit({
        action: 'reorder_rule.deleted',
        entity: 'reorder_rule',
        entityId: rule.id,
        warehouseIds: [rule.warehouse_id],
        before: rule,
      }),
      insertEvents(db, [reorderRuleEvent('inventory.reorder_rule.deleted', rule)]),
    ]);
    return { status: 204, body: undefined };
  },

  async listReorderRules({ db, query, principal, page }) {
    const keyset = listOrder(BY_ID, query);
    const rows = await listReorderRules(db, {
      item_id: query.item_id,
      warehouse_id: query.warehouse_id,
      keyset,
      ...scopedPage<unknown[]>(principal, page, query.warehouse_id),
    });
    return { status: 200, body: page.result(rows.map(toRule), keysetKey(keyset)) };
  },
} satisfies Pick<
  Handlers,
  | 'createReorderRule'
  | 'getReorderRule'
  | 'replaceReorderRule'
  | 'deleteReorderRule'
  | 'listReorderRules'
>;
