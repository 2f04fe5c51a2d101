// The pure planning code of the stock ledger, without a database: how a move's lines are resolved
// (handlers/lib/move-rules.ts: warehouses per type, signs, tracking rules, every error reported at
// once) and which batches they take (handlers/lib/batches.ts: named batches, then FEFO). The
// ledger runs both on rows it loaded and locked; here they get rows made up in memory.
import fc from 'fast-check';
import t from 'tap';
import type { ItemRow } from '../db/items.ts';
import type { BatchRow } from '../db/stock.ts';
import type { Warehouse } from '../db/warehouses.ts';
import { ProblemError } from '../domain/problems.ts';
import { allocateBatches } from '../handlers/lib/batches.ts';
import type { MoveInput } from '../handlers/lib/ledger.ts';
import { defaultPointer, resolveLines } from '../handlers/lib/move-rules.ts';
import { micro, toNumber } from '../handlers/lib/quantity.ts';
import { referencesOf } from '../handlers/lib/references.ts';

const at = '2026-12-01T00:00:00.000Z';
const item = (id: string, track_by: ItemRow['track_by'], active = true): ItemRow => ({
  id,
  sku: id.toUpperCase(),
  name: id,
  uom: 'EA',
  uom_conversions: [],
  integral: false,
  track_by,
  active,
  version: 1,
  created_at: at,
  updated_at: at,
});
const warehouse = (id: string, active = true): Warehouse => ({
  id,
  name: id,
  active,
  version: 1,
  created_at: at,
  updated_at: at,
});
const refs = referencesOf(
  [
    item('bolt', 'NONE'),
    item('glue', 'BATCH'),
    item('drill', 'SERIAL'),
    item('old', 'NONE', false),
  ],
  [warehouse('WH-A'), warehouse('WH-B'), warehouse('WH-X', false)],
);

/** The field errors of the 422 a move is refused with (none when it resolves). */
function errorsOf(move: MoveInput, pointer = defaultPointer) {
  try {
    resolveLines(move, refs, pointer);
    return [];
  } catch (err) {
    if (!(err instanceof ProblemError) || err.slug !== 'validation-error') throw err;
    return (err.extensions.errors as { pointer: string; code: string }[]).map(
      ({ pointer, code }) => ({ pointer, code }),
    );
  }
}

t.test('each move type names its warehouses, and takes from and brings to them', async (t) => {
  const lines = [{ item_id: 'bolt', qty: 2 }];
  const ends = (move: MoveInput) =>
    resolveLines(move, refs, defaultPointer).map(({ source, dest, amount }) => ({
      source,
      dest,
      amount: toNumber(amount),
    }));
  t.same(ends({ type: 'ISSUE', from_wh: 'WH-A', lines }), [
    { source: 'WH-A', dest: null, amount: 2 },
  ]);
  t.same(ends({ type: 'RECEIPT', to_wh: 'WH-A', lines }), [
    { source: null, dest: 'WH-A', amount: 2 },
  ]);
  t.same(ends({ type: 'TRANSFER', from_wh: 'WH-A', to_wh: 'WH-B', lines }), [
    { source: 'WH-A', dest: 'WH-B', amount: 2 },
  ]);
  t.same(
    ends({
      type: 'ADJUSTMENT',
      to_wh: 'WH-A',
      reason: 'count',
      lines: [{ item_id: 'bolt', qty: -2 }],
    }),
    [{ source: 'WH-A', dest: null, amount: 2 }],
    'a negative adjustment takes its amount out',
  );

  t.same(errorsOf({ type: 'ISSUE', to_wh: 'WH-A', lines }), [
    { pointer: '#/from_wh', code: 'required' },
    { pointer: '#/to_wh', code: 'not_allowed' },
  ]);
  t.same(errorsOf({ type: 'TRANSFER', from_wh: 'WH-A', to_wh: 'WH-A', lines }), [
    { pointer: '#/to_wh', code: 'same_warehouse' },
  ]);
  t.same(errorsOf({ type: 'ADJUSTMENT', to_wh: 'WH-A', lines }), [
    { pointer: '#/reason', code: 'required' },
  ]);
  t.same(errorsOf({ type: 'RECEIPT', to_wh: 'WH-Z', lines }), [
    { pointer: '#/to_wh', code: 'unknown_warehouse' },
  ]);
  t.same(errorsOf({ type: 'RECEIPT', to_wh: 'WH-X', lines }), [
    { pointer: '#/to_wh', code: 'inactive_warehouse' },
  ]);
});

t.test('every broken rule of every line is reported at once, at its pointer', async (t) => {
  const move: MoveInput = {
    type: 'RECEIPT',
    to_wh: 'WH-A',
    lines: [
      { item_id: 'bolt', qty: -1, reservation_id: 'res_1' },
      { item_id: 'old', qty: 1 },
      { item_id: 'nope', qty: 1 },
      { item_id: 'glue', qty: 1 },
      { item_id: 'drill', qty: 2, serials: ['D1'] },
      { item_id: 'drill', qty: 1.5 },
      { item_id: 'drill', qty: 1, serials: ['D1'] },
      { item_id: 'bolt', qty: 1, batch: 'L1', serials: ['S1'] },
    ],
  };
  t.same(errorsOf(move), [
    { pointer: '#/lines/0/qty', code: 'exclusiveMinimum' },
    { pointer: '#/lines/0/reservation_id', code: 'not_allowed' },
    { pointer: '#/lines/1/item_id', code: 'inactive_item' },
    { pointer: '#/lines/2/item_id', code: 'unknown_item' },
    { pointer: '#/lines/3/batch', code: 'required' },
    { pointer: '#/lines/4/serials', code: 'serial_count' },
    { pointer: '#/lines/5/qty', code: 'whole_number' },
    { pointer: '#/lines/7/batch', code: 'not_allowed' },
    { pointer: '#/lines/7/serials', code: 'not_allowed' },
    { pointer: '#/lines/6/serials/0', code: 'duplicate_serial' },
  ]);
  t.same(
    errorsOf(
      { type: 'RECEIPT', to_wh: 'WH-A', lines: [{ item_id: 'glue', qty: 1 }] },
      (i, field) => `#/receipt/${i}/${field}`,
    ),
    [{ pointer: '#/receipt/0/batch', code: 'required' }],
    'a caller posting from another body maps the pointers',
  );
  t.same(
    errorsOf({
      type: 'ISSUE',
      from_wh: 'WH-A',
      lines: [{ item_id: 'glue', qty: 1, expires_at: at }],
    }),
    [{ pointer: '#/lines/0/expires_at', code: 'not_allowed' }],
    'a batch keeps its expiry when it moves: only lines bringing stock in may set one',
  );
});

const batch = (name: string, on_hand: number, expires_at: string | null): BatchRow => ({
  item_id: 'glue',
  warehouse_id: 'WH-A',
  batch: name,
  on_hand,
  quality_control: 0,
  damaged: 0,
  expires_at,
});
const issue = (lines: MoveInput['lines']): MoveInput => ({ type: 'ISSUE', from_wh: 'WH-A', lines });

t.test('a line naming a batch takes it; one that does not picks first expiry first', async (t) => {
  // In no particular order: FEFO is allocateBatches' to find.
  const rows = [
    batch('L3', 4, null),
    batch('L2', 5, '2027-01-10T00:00:00.000Z'),
    batch('L1', 3, '2026-12-10T00:00:00.000Z'),
  ];
  const pieces = allocateBatches(
    resolveLines(
      issue([
        { item_id: 'glue', qty: 1, batch: 'L2' },
        { item_id: 'glue', qty: 6 },
      ]),
      refs,
      defaultPointer,
    ),
    rows,
  );
  t.same(
    pieces.map((p) => [p.line.index, p.batch, toNumber(p.amount), p.first]),
    [
      [0, 'L2', 1, true],
      [1, 'L1', 3, true],
      [1, 'L2', 3, false],
    ],
    'the named batch first, then FEFO over what is left: L1 emptied, then L2',
  );
  t.equal(pieces[1].expires_at, '2026-12-10T00:00:00.000Z', 'a piece carries its batch expiry');

  const over = (() => {
    try {
      allocateBatches(
        resolveLines(issue([{ item_id: 'glue', qty: 4, batch: 'L1' }]), refs, defaultPointer),
        rows,
      );
    } catch (err) {
      return err as ProblemError;
    }
  })();
  t.equal(over?.slug, 'over-issuance', 'a named batch cannot give more than it has');
  t.match(over?.extensions, {
    item_id: 'glue',
    warehouse_id: 'WH-A',
    batch: 'L1',
    requested: 4,
    available: 3,
  });
});

t.test(
  'FEFO takes exactly the amount, earliest expiry first, emptying each batch before the next',
  async (t) => {
    const batches = fc.uniqueArray(
      fc.record({
        name: fc.stringMatching(/^[A-Z][0-9]{1,3}$/),
        onHand: fc.integer({ min: 0, max: 50 }),
        day: fc.option(fc.integer({ min: 1, max: 28 }), { nil: null }),
      }),
      { selector: (b) => b.name, minLength: 1, maxLength: 6 },
    );
    fc.assert(
      fc.property(batches, fc.integer({ min: 1, max: 400 }), fc.nat(), (drawn, wanted, seed) => {
        // FEFO's order, written here from its definition: by expiry, none last, then by name.
        const rows = drawn
          .map((b) =>
            batch(
              b.name,
              b.onHand,
              b.day === null ? null : `2027-02-${String(b.day).padStart(2, '0')}T00:00:00.000Z`,
            ),
          )
          .sort(
            (a, b) =>
              (a.expires_at ?? '9999').localeCompare(b.expires_at ?? '9999') ||
              (a.batch < b.batch ? -1 : 1),
          );
        // allocateBatches gets them in another order, and must find FEFO's itself.
        const shuffled = rows
          .map((row, i) => ({ row, key: (i * 7919 + seed) % 104729 }))
          .sort((a, b) => a.key - b.key)
          .map(({ row }) => row);
        const total = rows.reduce((n, r) => n + r.on_hand, 0);
        const lines = resolveLines(issue([{ item_id: 'glue', qty: wanted }]), refs, defaultPointer);
        if (wanted > total) {
          try {
            allocateBatches(lines, shuffled);
            return false;
          } catch (err) {
            return err instanceof ProblemError && err.slug === 'over-issuance';
          }
        }
        const pieces = allocateBatches(lines, shuffled);
        const taken = pieces.reduce((n, p) => n + p.amount, 0n);
        const order = pieces.map((p) => rows.findIndex((r) => r.batch === p.batch));
        const emptiedBefore = order
          .slice(0, -1)
          .every((i, k) => micro(rows[i].on_hand) === pieces[k].amount);
        // Nothing skipped but empty batches: before the first taken, and between any two taken.
        const skipped = order.every((i, k) =>
          rows.slice(k === 0 ? 0 : order[k - 1] + 1, i).every((r) => r.on_hand === 0),
        );
        return (
          taken === micro(wanted) &&
          order.every((i, k) => k === 0 || i > order[k - 1]) &&
          pieces.every((p, k) => p.amount > 0n && p.amount <= micro(rows[order[k]].on_hand)) &&
          emptiedBefore &&
          skipped &&
          pieces.every((p, k) => p.first === (k === 0))
        );
      }),
      { numRuns: 300 },
    );
    t.pass('300 random sets of batches and amounts');
  },
);
