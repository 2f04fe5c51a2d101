// Reservations hold available stock (available = on_hand - reserved - quality_control - damaged:
// unrestricted stock only). Creating and releasing one locks its stock level first, like a
// posting does, so they queue with issues of the same stock.
// Due reservations expire where their level is locked (lockLevels) or by the sweeper
// (sweepReservations, run by server/reservations/), with the same events either way.
import { allInOrder, type Db } from '../db/client.ts';
import { newId } from '../db/ids.ts';
import { keysetKey, NEWEST_FIRST } from '../db/keyset.ts';
import { insertEvents, type OutboxEvent } from '../db/outbox.ts';
import {
  closeReservations,
  expireDue,
  findReservations,
  insertReservation,
  listReservations,
  lockDueLevels,
  type ExpiredReservation,
} from '../db/reservations.ts';
import { changeLevels, keyOf, lockLevels, type LevelAfter } from '../db/stock.ts';
import {
  ProblemError,
  invalid,
  invalidState,
  notFound,
  type FieldError,
} from '../domain/problems.ts';
import { assertWarehouses } from '../domain/access.ts';
import { listOrder, scopedPage } from './lib/listing.ts';
import { expiryEvents, reservationEvent, stockLevelEvent } from './lib/catalogue.ts';
import { levelDetails } from './lib/levels.ts';
import { decimal, micro, toNumber } from './lib/quantity.ts';
import { itemErrors, loadReferences, warehouseErrors } from './lib/references.ts';
import { toReservation, type Reservation } from './lib/representation.ts';
import type { Handlers } from './types.ts';

/**
 * The events of a reservation change made under its level's lock, in order: those of the
 * reservations that expired when the level was locked, the reservation's own, and the level as
 * the change left it (`after`, from changeLevels).
 */
async function reservationChangeEvents(
  db: Db,
  expired: ExpiredReservation[],
  event: OutboxEvent,
  reservation: Reservation,
  after: LevelAfter,
): Promise<OutboxEvent[]> {
  const details = await levelDetails(db, [after, ...expired]);
  return [
    ...expiryEvents(expired, details),
    event,
    stockLevelEvent(
      {
        ...after,
        onHand: micro(after.on_hand),
        reserved: micro(after.reserved),
        incoming: micro(after.incoming),
        undatedIncoming: micro(after.undated_incoming),
        qualityControl: micro(after.quality_control),
        damaged: micro(after.damaged),
        ...details(after),
      },
      reservation.id,
    ),
  ];
}

/**
 * Expires the due reservations of up to `limit` levels that no other transaction holds, on `db`
 * (a transaction), with their events; returns how many expired. Any number of instances may run it
 * at once: each level is expired by whichever locks it first (lockDueLevels), once.
 */
export async function sweepReservations(db: Db, limit: number): Promise<number> {
  const keys = await lockDueLevels(db, limit);
  const expired = await expireDue(db, keys);
  if (!expired.length) return 0;
  await insertEvents(db, expiryEvents(expired, await levelDetails(db, expired)));
  return expired.length;
}

export const reservationHandlers = {
  async createReservation({ db, body, principal, actor, audit }) {
    assertWarehouses(principal, body.warehouse_id);
    const refs = await loadReferences(db, [body.item_id], [body.warehouse_id]);
    const errors: FieldError[] = [
      ...itemErrors(refs, body.item_id, '#/item_id'),
      ...warehouseErrors(refs, body.warehouse_id, '#/warehouse_id'),
    ];
    if (refs.items.get(body.item_id)?.track_by === 'SERIAL' && !Number.isInteger(body.qty)) {
      errors.push({
        pointer: '#/qty',
        code: 'whole_number',
        detail: `${body.item_id} is tracked by serial number: qty must be a whole number.`,
      });
    }
    if (body.expires_at !== undefined && Date.parse(body.expires_at) <= Date.now()) {
      errors.push({
        pointer: '#/expires_at',
        code: 'in_the_past',
        detail: 'must be in the future.',
      });
    }
    if (errors.length) throw invalid(errors);

    const key = { item_id: body.item_id, warehouse_id: body.warehouse_id };
    const { levels, expired } = await lockLevels(db, [key]);
    const level = levels.get(keyOf(key.item_id, key.warehouse_id));
    // Only unrestricted stock can be reserved: held stock (quality control, damaged) is on hand, not available.
    const available = level
      ? micro(level.on_hand) -
        micro(level.reserved) -
        micro(level.quality_control) -
        micro(level.damaged)
      : 0n;
    const requested = micro(body.qty);
    if (requested > available) {
      throw new ProblemError(
        'insufficient-available',
        `Only ${toNumber(available)} of ${body.item_id} available in ${body.warehouse_id}; ${body.qty} requested.`,
        {
          ...key,
          requested: body.qty,
          available: toNumber(available),
        },
      );
    }
    const row = await insertReservation(db, {
      id: newId('res'),
      ...key,
      qty: decimal(requested),
      expires_at: body.expires_at ?? null,
      reference: body.reference ?? null,
      created_by: actor.sub,
    });
    const [after] = await changeLevels(db, [
      { ...key, on_hand: '0', reserved: decimal(requested) },
    ]);
    const reservation = toReservation(row);
    const events = await reservationChangeEvents(
      db,
      expired,
      reservationEvent('inventory.reservation.created', reservation),
      reservation,
      after,
    );
    await allInOrder([
      audit({
        action: 'reservation.created',
        entity: 'reservation',
        entityId: row.id,
        warehouseIds: [row.warehouse_id],
        after: reservation,
      }),
      insertEvents(db, events),
    ]);
    return {
      status: 201,
      body: reservation,
      location: `/inventory/reservations/${encodeURIComponent(row.id)}`,
    };
  },

  async getReservation({ db, params, principal }) {
    const [row] = await findReservations(db, [params.id]);
    if (!row) throw notFound('reservation', params.id);
    assertWarehouses(principal, row.warehouse_id);
    return { status: 200, body: toReservation(row) };
  },

  async releaseReservation({ db, params, principal, audit }) {
    const [found] = await findReservations(db, [params.id]);
    if (!found) throw notFound('reservation', params.id);
    assertWarehouses(principal, found.warehouse_id);
    // The level lock first (it also marks the reservation EXPIRED if it is due), then the row.
    const { expired } = await lockLevels(db, [found]);
    const [before] = await findReservations(db, [params.id], { lock: true });
    if (before.status !== 'ACTIVE')
      throw invalidState('Reservation', before.id, before.status, ['ACTIVE'], 'released');
    const [closed] = await closeReservations(db, [before.id], 'RELEASED');
    const [after] = await changeLevels(db, [
      {
        item_id: before.item_id,
        warehouse_id: before.warehouse_id,
        on_hand: '0',
        reserved: decimal(-micro(before.qty)),
      },
    ]);
    const reservation = toReservation(closed);
    const events = await reservationChangeEvents(
      db,
      expired,
      reservationEvent('inventory.reservation.released', reservation),
      reservation,
      after,
    );
    await allInOrder([
      audit({
        action: 'reservation.released',
        entity: 'reservation',
        entityId: before.id,
        warehouseIds: [before.warehouse_id],
        before: toReservation(before),
        after: reservation,
      }),
      insertEvents(db, events),
    ]);
    return { status: 200, body: reservation };
  },

  async listReservations({ db, query, principal, page }) {
    const keyset = listOrder(NEWEST_FIRST, query);
    const rows = await listReservations(db, {
      item_id: query.item_id,
      warehouse_id: query.warehouse_id,
      status: query.status,
      keyset,
      ...scopedPage<unknown[]>(principal, page, query.warehouse_id),
    });
    return { status: 200, body: page.result(rows.map(toReservation), keysetKey(keyset)) };
  },
} satisfies Pick<
  Handlers,
  'createReservation' | 'getReservation' | 'releaseReservation' | 'listReservations'
>;
