// Status changes: stock on hand in one warehouse moves between its states (unrestricted, quality
// control, damaged). Not a stock move: on_hand does not change, so the ledger is not involved, but
// the change takes the ledger's locks in the ledger's order (levels in (item, warehouse) order,
// then serials in (item, serial) order), checks the quantities against the locked rows, and then
// updates them; the table CHECKs (every state >= 0, held + reserved <= on_hand) back the check.
// A status change racing an issue or a reservation of the same level queues on the level's lock.
import { allInOrder, type Db } from '../db/client.ts';
import { newId } from '../db/ids.ts';
import { keysetKey, NEWEST_FIRST } from '../db/keyset.ts';
import { lockSerials } from '../db/ledger.ts';
import { insertEvents } from '../db/outbox.ts';
import {
  applyStatusChange,
  findStatusChange,
  insertStatusChange,
  listStatusChanges,
  statusChangeLines,
  type HeldChange,
  type StatusChangeLine,
  type StatusChangeRow,
} from '../db/status-changes.ts';
import {
  batchesOf,
  byKey,
  keyOf,
  locationLevelsOf,
  locationsFor,
  lockLevels,
  type StockKey,
  type StockState,
} from '../db/stock.ts';
import type { components } from '../generated/api.ts';
import { assertVisible, assertWarehouses } from '../domain/access.ts';
import { invalid, notFound, type FieldError } from '../domain/problems.ts';
import { inState, insufficientQuantity } from './lib/batches.ts';
import { expiryEvents, statusChangeEvent } from './lib/catalogue.ts';
import { groupBy, present } from './lib/documents.ts';
import { detailsOf, levelDetails, levelEvents } from './lib/levels.ts';
import { LocationBook } from './lib/locations.ts';
import { listOrder, scopedPage } from './lib/listing.ts';
import { serialKey } from './lib/move-rules.ts';
import { decimal, micro, toNumber, type Micro } from './lib/quantity.ts';
import { must } from '../domain/must.ts';
import { itemErrors, loadReferences, warehouseErrors } from './lib/references.ts';
import { etagOf } from './lib/versioned.ts';
import type { Handlers } from './types.ts';

type StatusChange = components['schemas']['StatusChange'];
const STATUS_CHANGE = 'status change';
// A status change is never changed after it is posted: one version, one ETag.
const ETAG = etagOf(1);
const STATES: StockState[] = ['unrestricted', 'quality_control', 'damaged'];

const location = (id: string) => `/inventory/status-changes/${encodeURIComponent(id)}`;

/** Net change per state; unrestricted is the negative of the held ones' sum (on_hand does not change). */
type Deltas = Record<StockState, Micro>;
const noDeltas = (): Deltas => ({ unrestricted: 0n, quality_control: 0n, damaged: 0n });

async function toStatusChanges(db: Db, rows: StatusChangeRow[]): Promise<StatusChange[]> {
  const lines = groupBy(
    await statusChangeLines(
      db,
      rows.map((r) => r.id),
    ),
    (l) => l.status_change_id,
  );
  return rows.map((row) => ({
    ...row,
    etag: ETAG,
    lines: (lines.get(row.id) ?? []).map(({ status_change_id: _, ...line }) => present(line)),
  }));
}

/** The request's rules that need no stock: items, states, batch and serial rules (422, all at once). */
function lineErrors(
  body: { warehouse_id: string; lines: StatusChangeLine[] },
  refs: Awaited<ReturnType<typeof loadReferences>>,
): FieldError[] {
  const errors: FieldError[] = [...warehouseErrors(refs, body.warehouse_id, '#/warehouse_id')];
  const seen = new Set<string>();
  body.lines.forEach((line, i) => {
    const at = (field: string) => `#/lines/${i}/${field}`;
    const notAllowed = (field: string, detail: string) =>
      errors.push({ pointer: at(field), code: 'not_allowed', detail });
    if (line.from_state === line.to_state)
      errors.push({
        pointer: at('to_state'),
        code: 'same_state',
        detail: 'must differ from from_state.',
      });
    errors.push(...itemErrors(refs, line.item_id, at('item_id')));
    const item = refs.items.get(line.item_id);
    if (!item) return;
    const serials = line.serials ?? [];
    if (item.track_by !== 'BATCH' && line.batch !== undefined)
      notAllowed('batch', `${item.id} is not tracked by batch.`);
    // A batch keeps its state: a batch-tracked item's stock changes state batch by batch.
    if (item.track_by === 'BATCH' && line.batch === undefined)
      errors.push({
        pointer: at('batch'),
        code: 'required',
        detail: `${item.id} is tracked by batch: name the batch whose stock changes state.`,
      });
    if (item.track_by !== 'SERIAL' && serials.length)
      notAllowed('serials', `${item.id} is not tracked by serial number.`);
    if (item.track_by === 'SERIAL') {
      if (!Number.isInteger(line.qty))
        errors.push({
          pointer: at('qty'),
          code: 'whole_number',
          detail: `${item.id} is tracked by serial number: qty must be a whole number.`,
        });
      else if (serials.length !== line.qty)
        errors.push({
          pointer: at('serials'),
          code: 'serial_count',
          detail: `${item.id} is tracked by serial number: give exactly ${line.qty} serials (one per unit), not ${serials.length}.`,
        });
    }
    serials.forEach((serial, j) => {
      const k = serialKey(line.item_id, serial);
      if (seen.has(k))
        errors.push({
          pointer: at(`serials/${j}`),
          code: 'duplicate_serial',
          detail: `Serial ${serial} appears twice in this status change.`,
        });
      seen.add(k);
    });
  });
  return errors;
}

export const statusChangeHandlers = {
  async createStatusChange(ctx) {
    const { db, body, principal, actor, audit, idempotencyKey } = ctx;
    assertWarehouses(principal, body.warehouse_id);
    const warehouse_id = body.warehouse_id;
    const lines: StatusChangeLine[] = body.lines;
    const refs = await loadReferences(
      db,
      lines.map((l) => l.item_id),
      [warehouse_id],
    );
    const errors = lineErrors({ warehouse_id, lines }, refs);
    if (errors.length) throw invalid(errors);

    // Locks, in the ledger's order: the levels (expiring their due reservations), then the serials.
    const keys: StockKey[] = [...new Set(lines.map((l) => l.item_id))]
      .sort(byKey)
      .map((item_id) => ({ item_id, warehouse_id }));
    const serialPairs = [
      ...new Map(
        lines.flatMap((l) =>
          (l.serials ?? []).map((serial) => [
            serialKey(l.item_id, serial),
            { item_id: l.item_id, serial },
          ]),
        ),
      ),
    ]
      .sort(([a], [b]) => byKey(a, b))
      .map(([, p]) => p);
    const named = [...new Set(lines.flatMap((l) => l.from_location ?? []))];
    const [{ levels, expired }, serials, batches, located, locations] = await allInOrder([
      lockLevels(db, keys),
      lockSerials(db, serialPairs),
      batchesOf(db, keys),
      locationLevelsOf(db, keys),
      locationsFor(
        db,
        named.map((code) => ({ warehouse_id, code })),
        [],
      ),
    ]);
    const unknown = lines.flatMap((l, i) =>
      l.from_location === undefined || locations.some((x) => x.code === l.from_location)
        ? []
        : [
            {
              pointer: `#/lines/${i}/from_location`,
              code: 'unknown_location',
              detail: `No location ${l.from_location} exists in ${warehouse_id}.`,
            },
          ],
    );
    if (unknown.length) throw invalid(unknown);

    // Net change per level and state, and per batch and state: lines of an item are summed.
    const levelDeltas = new Map<string, Deltas>();
    const batchDeltas = new Map<string, { item_id: string; batch: string; deltas: Deltas }>();
    for (const line of lines) {
      const amount = micro(line.qty);
      const k = keyOf(line.item_id, warehouse_id);
      const d = levelDeltas.get(k) ?? noDeltas();
      d[line.from_state] -= amount;
      d[line.to_state] += amount;
      levelDeltas.set(k, d);
      if (line.batch !== undefined) {
        const bk = JSON.stringify([line.item_id, line.batch]);
        const b = batchDeltas.get(bk) ?? {
          item_id: line.item_id,
          batch: line.batch,
          deltas: noDeltas(),
        };
        b.deltas[line.from_state] -= amount;
        b.deltas[line.to_state] += amount;
        batchDeltas.set(bk, b);
      }
    }
    // 409 insufficient-quantity when a state would go below what it has (unrestricted: less what is reserved).
    for (const { item_id } of keys) {
      const level = levels.get(keyOf(item_id, warehouse_id));
      const d = levelDeltas.get(keyOf(item_id, warehouse_id)) ?? noDeltas();
      for (const state of STATES) {
        if (d[state] >= 0n) continue;
        const have = !level
          ? 0n
          : state === 'unrestricted'
            ? micro(level.on_hand) -
              micro(level.reserved) -
              micro(level.quality_control) -
              micro(level.damaged)
            : micro(level[state]);
        if (-d[state] > have)
          throw insufficientQuantity(item_id, warehouse_id, state, -d[state], have);
      }
    }
    for (const { item_id, batch, deltas } of batchDeltas.values()) {
      const row = batches.find((b) => b.item_id === item_id && b.batch === batch);
      for (const state of STATES) {
        if (deltas[state] >= 0n) continue;
        const have = row ? inState(row, state) : 0n;
        if (-deltas[state] > have)
          throw insufficientQuantity(item_id, warehouse_id, state, -deltas[state], have, batch);
      }
    }
    // Each serial must be in stock here, in the state its line takes it from.
    const serialErrors: FieldError[] = [];
    const serialStates = new Map(serials.map((s) => [serialKey(s.item_id, s.serial), s]));
    for (const [i, line] of lines.entries())
      for (const [j, serial] of (line.serials ?? []).entries()) {
        const now = serialStates.get(serialKey(line.item_id, serial));
        if (
          now?.status !== 'IN_STOCK' ||
          now.warehouse_id !== warehouse_id ||
          now.state !== line.from_state ||
          (line.from_location !== undefined && now.location !== line.from_location)
        )
          serialErrors.push({
            pointer: `#/lines/${i}/serials/${j}`,
            code: 'serial_not_in_stock',
            detail: `Serial ${serial} of ${line.item_id} is not in stock in ${warehouse_id}${line.from_location === undefined ? '' : ` at ${line.from_location}`} as ${line.from_state}.`,
          });
      }
    if (serialErrors.length) throw invalid(serialErrors);

    // Where: each line's stock at the location it names, else picked (by pick_order, then code),
    // serials where they are; a line is stored once per location it changed.
    const book = new LocationBook(located, true);
    const locationDeltas = new Map<
      string,
      { location: string; item_id: string; batch: string; deltas: Deltas }
    >();
    const stored: StatusChangeLine[] = lines.flatMap((line) =>
      book
        .takeStock(
          { item_id: line.item_id, warehouse_id, batch: line.batch ?? '', state: line.from_state },
          micro(line.qty),
          {
            from: line.from_location,
            serials: line.serials ?? [],
            serialAt: (item_id, serial) =>
              must(
                serialStates.get(serialKey(item_id, serial))?.location,
                'location of a serial in stock',
              ),
          },
        )
        .map(({ location, amount, serials: here }) => {
          book.put(line.item_id, warehouse_id, location, line.batch ?? '', line.to_state, amount);
          const k = JSON.stringify([line.item_id, location, line.batch ?? '']);
          const d = locationDeltas.get(k) ?? {
            location,
            item_id: line.item_id,
            batch: line.batch ?? '',
            deltas: noDeltas(),
          };
          d.deltas[line.from_state] -= amount;
          d.deltas[line.to_state] += amount;
          locationDeltas.set(k, d);
          return {
            ...line,
            qty: toNumber(amount),
            ...(here.length > 0 && { serials: here }),
            from_location: location,
          };
        }),
    );

    const held = (d: Deltas) => ({
      quality_control: decimal(d.quality_control),
      damaged: decimal(d.damaged),
    });
    // Lines that cancel out (there and back) leave a level or batch as it was: it is not written.
    const changes = (d: Deltas) => d.quality_control !== 0n || d.damaged !== 0n;
    const levelChanges: HeldChange[] = keys.flatMap((key) => {
      const d = levelDeltas.get(keyOf(key.item_id, warehouse_id)) ?? noDeltas();
      return changes(d) ? [{ ...key, ...held(d) }] : [];
    });
    const batchChanges = [...batchDeltas.values()]
      .filter(({ deltas }) => changes(deltas))
      .map(({ item_id, batch, deltas }) => ({ item_id, warehouse_id, batch, ...held(deltas) }));
    const now = new Date().toISOString();
    const locationChanges = [...locationDeltas.values()]
      .filter(({ deltas }) => changes(deltas))
      .map(({ item_id, location, batch, deltas }) => ({
        item_id,
        warehouse_id,
        location,
        batch,
        on_hand: '0',
        ...held(deltas),
        updated_at: now,
      }));
    const id = newId('sc');
    const [after, row] = await allInOrder([
      applyStatusChange(
        db,
        levelChanges,
        batchChanges,
        lines.flatMap((l) =>
          (l.serials ?? []).map((serial) => ({ item_id: l.item_id, serial, state: l.to_state })),
        ),
        locationChanges,
      ),
      insertStatusChange(
        db,
        {
          id,
          warehouse_id,
          reason: body.reason,
          idempotency_key: idempotencyKey ?? null,
          created_by: actor.sub,
        },
        stored,
      ),
    ]);
    const [[shown], details] = await allInOrder([
      toStatusChanges(db, [row]),
      levelDetails(db, after),
    ]);
    const changedLevels = levelEvents(after, details, id);
    await allInOrder([
      audit({
        action: 'status_change.posted',
        entity: 'status_change',
        entityId: id,
        warehouseIds: [warehouse_id],
        after: shown,
      }),
      insertEvents(db, [
        // Reservations expired on the way show the levels before this change.
        ...expiryEvents(expired, detailsOf(refs, batches)),
        ...changedLevels,
        statusChangeEvent(shown),
      ]),
    ]);
    return { status: 201, body: shown, etag: ETAG, location: location(id) };
  },

  async getStatusChange({ db, params, principal }) {
    const row = await findStatusChange(db, params.id);
    if (!row) throw notFound(STATUS_CHANGE, params.id);
    assertVisible(principal, [row.warehouse_id]);
    const [shown] = await toStatusChanges(db, [row]);
    return { status: 200, body: shown, etag: ETAG };
  },

  async listStatusChanges({ db, query, principal, page }) {
    const keyset = listOrder(NEWEST_FIRST, { order: query.order });
    const rows = await listStatusChanges(db, {
      warehouse_id: query.warehouse_id,
      keyset,
      ...scopedPage<unknown[]>(principal, page, query.warehouse_id),
    });
    return {
      status: 200,
      body: page.result(await toStatusChanges(db, rows), keysetKey(keyset)),
    };
  },
} satisfies Pick<Handlers, 'createStatusChange' | 'getStatusChange' | 'listStatusChanges'>;
