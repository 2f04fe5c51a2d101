// Reservations hold available stock (available = on_hand - reserved - quality_control - damaged:
// unrestricted stock only). Creating and releasing one locks its stock level first, like a
// posting does, so they queue with issues of the same stock.
// Creating them is group-committed (createReservation, as stock moves are): a batch locks its
// levels in one round trip, reserves request after request in memory (each seeing the ones before
// it), and writes them all in one more, each level's `reserved` once.
// Due reservations expire where their level is locked (lockLevels) or by the sweeper
// (sweepReservations, run by server/reservations/), with the same events either way.
import { insertAudits, type Actor, type AuditEntry } from '../db/audit.ts';
import { allInOrder, type Db } from '../db/client.ts';
import { newId } from '../db/ids.ts';
import { keysetKey, NEWEST_FIRST } from '../db/keyset.ts';
import { insertEvents, type OutboxEvent } from '../db/outbox.ts';
import {
  closeReservations,
  expireDue,
  findReservations,
  insertReservations,
  listReservations,
  lockDueLevels,
  type ExpiredReservation,
  type ReservationRow,
} from '../db/reservations.ts';
import {
  batchesOf,
  byKey,
  changeReserved,
  keyOf,
  lockLevels,
  type LevelAfter,
  type StockKey,
} from '../db/stock.ts';
import {
  ProblemError,
  invalid,
  invalidState,
  notFound,
  type FieldError,
} from '../domain/problems.ts';
import { assertWarehouses } from '../domain/access.ts';
import { instantOf, isoInstant } from '../domain/instants.ts';
import { listOrder, scopedPage } from './lib/listing.ts';
import {
  expiryEvents,
  levelFigures,
  reservationEvent,
  stockLevelEvent,
  type LevelState,
} from './lib/catalogue.ts';
import { detailsOf, levelDetails, type LevelDetails } from './lib/levels.ts';
import { decimal, micro, toNumber, type Micro } from './lib/quantity.ts';
import { itemErrors, loadReferences, warehouseErrors, type References } from './lib/references.ts';
import { toReservation, type Reservation } from './lib/representation.ts';
import type { Batched, Context, Handlers } from './types.ts';

/**
 * The events of a reservation change made under its level's lock, in order: those of the
 * reservations that expired when the level was locked, the reservation's own, and the level as
 * the change left it (`after`, from changeReserved).
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
    stockLevelEvent({ ...after, ...levelFigures(after), ...details(after) }, reservation.id),
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

const location = (id: string) => `/inventory/reservations/${encodeURIComponent(id)}`;

/** A batch of createReservation requests: what load read, then what the requests run added. */
interface ReservationBatch {
  refs: References;
  /** The locked levels as the requests run so far left them; a key without a row is absent. */
  levels: Map<string, Omit<LevelState, 'track_by' | 'batches' | 'updated_at'>>;
  details: LevelDetails;
  /** The events of the reservations load expired (lockLevels), owed whatever the requests do. */
  expired: OutboxEvent[];
  created: (ReservationRow & { created_by: string })[];
  /** Per level changed: what the batch added to its `reserved`, and when it last did. */
  added: Map<string, StockKey & { qty: Micro; updated_at: string }>;
  events: OutboxEvent[];
  audits: { actor: Actor; entry: AuditEntry }[];
}

/** The 422 field errors of a request, against the items and warehouses load read. */
function requestErrors(refs: References, body: Context<'createReservation'>['body']): FieldError[] {
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
  const expiresAt = body.expires_at === undefined ? undefined : instantOf(body.expires_at);
  if (expiresAt === null) {
    errors.push({
      pointer: '#/expires_at',
      code: 'format',
      detail: 'must be an RFC 3339 date-time naming an instant.',
    });
  } else if (expiresAt !== undefined && expiresAt <= Date.now()) {
    errors.push({
      pointer: '#/expires_at',
      code: 'in_the_past',
      detail: 'must be in the future.',
    });
  }
  return errors;
}

/**
 * POST /inventory/reservations, group-committed. `load`: in one round trip, the items and
 * warehouses named, the levels locked in (item, warehouse) order (their due reservations expired
 * on the way) and their batches (what level events show). `run`: one request against the levels
 * as the requests before it left them. `write`: in one round trip, the reservations (one insert),
 * each level's `reserved` (once, summed over the batch), the events, then one audit entry each.
 * Ids and timestamps are made here and written as they are, so an answer is what a GET returns.
 */
const createReservation: Batched<'createReservation', ReservationBatch> = {
  async load(db, contexts) {
    const keys = [
      ...new Map(
        contexts.map(({ body: { item_id, warehouse_id } }) => [
          keyOf(item_id, warehouse_id),
          { item_id, warehouse_id },
        ]),
      ),
    ]
      .sort(([a], [b]) => byKey(a, b))
      .map(([, k]) => k);
    const [refs, locked, batches] = await allInOrder([
      loadReferences(
        db,
        contexts.map((c) => c.body.item_id),
        contexts.map((c) => c.body.warehouse_id),
      ),
      lockLevels(db, keys),
      batchesOf(db, keys),
    ]);
    const details = detailsOf(refs, batches);
    return {
      refs,
      levels: new Map(
        [...locked.levels].map(([k, l]) => [
          k,
          { item_id: l.item_id, warehouse_id: l.warehouse_id, ...levelFigures(l) },
        ]),
      ),
      details,
      expired: expiryEvents(locked.expired, details),
      created: [],
      added: new Map(),
      events: [],
      audits: [],
    };
  },

  run(batch, { body, principal, actor }) {
    assertWarehouses(principal, body.warehouse_id);
    const errors = requestErrors(batch.refs, body);
    if (errors.length) throw invalid(errors);

    const key = { item_id: body.item_id, warehouse_id: body.warehouse_id };
    const k = keyOf(key.item_id, key.warehouse_id);
    const level = batch.levels.get(k);
    // Only unrestricted stock can be reserved: held stock (quality control, damaged) is on hand, not available.
    const available = level
      ? level.onHand - level.reserved - level.qualityControl - level.damaged
      : 0n;
    const requested = micro(body.qty);
    if (!level || requested > available) {
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
    const now = new Date().toISOString();
    const row: ReservationRow = {
      id: newId('res'),
      ...key,
      qty: toNumber(requested),
      status: 'ACTIVE',
      // As the database stores it (milliseconds, UTC), so that the answer is what a GET returns.
      expires_at: body.expires_at === undefined ? null : isoInstant(body.expires_at),
      reference: body.reference ?? null,
      consumed_by: null,
      created_at: now,
      updated_at: now,
    };
    level.reserved += requested;
    batch.added.set(k, {
      ...key,
      qty: (batch.added.get(k)?.qty ?? 0n) + requested,
      updated_at: now,
    });
    batch.created.push({ ...row, created_by: actor.sub });
    const reservation = toReservation(row);
    batch.events.push(
      reservationEvent('inventory.reservation.created', reservation, now),
      stockLevelEvent({ ...level, updated_at: now, ...batch.details(key) }, row.id, now),
    );
    batch.audits.push({
      actor,
      entry: {
        action: 'reservation.created',
        entity: 'reservation',
        entityId: row.id,
        warehouseIds: [row.warehouse_id],
        after: reservation,
      },
    });
    return { status: 201, body: reservation, location: location(row.id) };
  },

  async write(db, batch) {
    const events = [...batch.expired, ...batch.events];
    if (!events.length) return;
    const changes = [...batch.added.values()].map(({ qty, ...change }) => ({
      ...change,
      reserved: decimal(qty),
    }));
    // Sent in this order: the rows, then the events, then the audit entries (db/outbox.ts).
    await allInOrder([
      batch.created.length ? insertReservations(db, batch.created) : undefined,
      changes.length ? changeReserved(db, changes) : undefined,
      insertEvents(db, events).execute(),
      batch.audits.length ? insertAudits(db, batch.audits).execute() : undefined,
    ]);
  },
};

export const reservationHandlers = {
  createReservation,

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
    const [after] = await changeReserved(db, [
      {
        item_id: before.item_id,
        warehouse_id: before.warehouse_id,
        reserved: decimal(-micro(before.qty)),
        // The transaction's time, as the reservation's own row gets (closeReservations).
        updated_at: null,
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
