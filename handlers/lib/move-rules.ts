// The rules a stock move must meet before any stock is looked at (spec/openapi.yaml: createStockMove and the StockMove schemas): which
// warehouses each type names, quantity signs, which line fields each type allows, and the batch
// and serial rules of the items' tracking. All broken rules are reported together (422).
import { must } from '../../domain/must.ts';
import { invalid, type FieldError } from '../../domain/problems.ts';
import type { MoveInput, MoveLineInput } from './ledger.ts';
import type { StockState } from '../../db/stock.ts';
import { micro, type Micro } from './quantity.ts';
import { itemErrors, warehouseErrors, type References } from './references.ts';

type MoveType = MoveInput['type'];

/** (line index, field) → JSON pointer for 422 errors; `field` may be a sub-path such as `serials/2`. */
export type Pointer = (lineIndex: number, field: string) => string;

/** Map key of a serial of an item. */
export const serialKey = (item_id: string, serial: string) => JSON.stringify([item_id, serial]);

export const defaultPointer: Pointer = (i, field) => `#/lines/${i}/${field}`;

/**
 * Where a line takes stock from and puts it (null: nowhere): ISSUE from from_wh; RECEIPT into
 * to_wh; TRANSFER both; ADJUSTMENT into to_wh when positive, out of it when negative. Undefined
 * where the move leaves out a warehouse its type needs, which validation refuses (moveErrors).
 */
export function endpointsOf(
  move: Pick<MoveInput, 'type' | 'from_wh' | 'to_wh'>,
  qty: number,
): { source: string | null | undefined; dest: string | null | undefined } {
  switch (move.type) {
    case 'ISSUE':
      return { source: move.from_wh, dest: null };
    case 'RECEIPT':
      return { source: null, dest: move.to_wh };
    case 'TRANSFER':
      return { source: move.from_wh, dest: move.to_wh };
    case 'ADJUSTMENT':
      return qty < 0 ? { source: move.to_wh, dest: null } : { source: null, dest: move.to_wh };
  }
}

/** An endpoint of a line of a valid move: every warehouse its type needs is named. */
const validEndpoint = (warehouse: string | null | undefined): string | null =>
  warehouse === null ? null : must(warehouse, 'warehouse of a valid move');

/** A valid move line resolved for posting: a positive amount taken from `source` and/or put into `dest`. */
export interface Line {
  index: number;
  input: MoveLineInput;
  amount: Micro;
  source: string | null;
  dest: string | null;
  /** The stock state taken from at `source` and brought into at `dest`. */
  sourceState: StockState;
  destState: StockState;
  trackBy: 'BATCH' | 'SERIAL' | 'NONE';
}

const WAREHOUSES: Record<MoveType, { from: boolean; to: boolean }> = {
  ISSUE: { from: true, to: false },
  RECEIPT: { from: false, to: true },
  TRANSFER: { from: true, to: true },
  ADJUSTMENT: { from: false, to: true },
};

function moveErrors(move: MoveInput, refs: References): FieldError[] {
  const errors: FieldError[] = [];
  const wanted = WAREHOUSES[move.type];
  for (const [field, needed] of [
    ['from_wh', wanted.from],
    ['to_wh', wanted.to],
  ] as const) {
    const id = move[field];
    if (needed && !id)
      errors.push({
        pointer: `#/${field}`,
        code: 'required',
        detail: `is required for a ${move.type}.`,
      });
    else if (!needed && id)
      errors.push({
        pointer: `#/${field}`,
        code: 'not_allowed',
        detail: `is not allowed on a ${move.type}.`,
      });
    else if (id) errors.push(...warehouseErrors(refs, id, `#/${field}`));
  }
  // Within one warehouse, a transfer moves stock between its locations: each line says where to.
  if (
    move.type === 'TRANSFER' &&
    move.from_wh &&
    move.from_wh === move.to_wh &&
    move.lines.some((l) => l.to_location === undefined)
  ) {
    errors.push({
      pointer: '#/to_wh',
      code: 'same_warehouse',
      detail:
        'must differ from from_wh, unless every line names its to_location (a transfer between two locations of one warehouse).',
    });
  }
  if (move.type === 'ADJUSTMENT' && !move.reason)
    errors.push({
      pointer: '#/reason',
      code: 'required',
      detail: 'is required for an ADJUSTMENT.',
    });
  return errors;
}

function lineErrors(
  move: MoveInput,
  line: MoveLineInput,
  i: number,
  refs: References,
  at: Pointer,
): FieldError[] {
  const errors: FieldError[] = [];
  const notAllowed = (field: string, why: string) =>
    errors.push({ pointer: at(i, field), code: 'not_allowed', detail: why });
  if (line.qty === 0 || (line.qty < 0 && move.type !== 'ADJUSTMENT')) {
    errors.push({
      pointer: at(i, 'qty'),
      code: 'exclusiveMinimum',
      detail: 'must be > 0 (negative only on ADJUSTMENT lines).',
    });
  }
  if (line.expected_on_hand !== undefined && move.type !== 'ADJUSTMENT')
    notAllowed('expected_on_hand', 'is allowed on ADJUSTMENT lines only.');
  if (line.reservation_id !== undefined && move.type !== 'ISSUE')
    notAllowed('reservation_id', 'is allowed on ISSUE lines only.');
  // Held stock leaves only by an ISSUE naming its state (scrap) and comes in held only by a RECEIPT
  // naming it; every other line takes and brings unrestricted stock.
  if (line.from_state !== undefined && move.type !== 'ISSUE')
    notAllowed('from_state', 'is allowed on ISSUE lines only.');
  else if (line.from_state !== undefined && line.reservation_id !== undefined)
    notAllowed('reservation_id', 'reserves unrestricted stock: not allowed with from_state.');
  if (line.to_state !== undefined && move.type !== 'RECEIPT')
    notAllowed('to_state', 'is allowed on RECEIPT lines only.');
  errors.push(...itemErrors(refs, line.item_id, at(i, 'item_id')));
  const item = refs.items.get(line.item_id);
  if (!item) return errors;
  const serials = line.serials ?? [];
  if (item.track_by !== 'BATCH' && line.batch !== undefined)
    notAllowed('batch', `${item.id} is not tracked by batch.`);
  const { source } = endpointsOf(move, line.qty);
  if (line.expires_at !== undefined) {
    if (item.track_by !== 'BATCH') notAllowed('expires_at', `${item.id} is not tracked by batch.`);
    else if (source !== null)
      notAllowed(
        'expires_at',
        'is allowed only on lines that bring stock in (a batch keeps its expiry when it moves).',
      );
  }
  if (item.track_by !== 'SERIAL' && serials.length)
    notAllowed('serials', `${item.id} is not tracked by serial number.`);
  if (item.track_by === 'BATCH' && source === null && line.batch === undefined) {
    errors.push({
      pointer: at(i, 'batch'),
      code: 'required',
      detail: `${item.id} is tracked by batch: name the batch that comes in.`,
    });
  }
  if (item.track_by === 'SERIAL') {
    if (!Number.isInteger(line.qty))
      errors.push({
        pointer: at(i, 'qty'),
        code: 'whole_number',
        detail: `${item.id} is tracked by serial number: qty must be a whole number.`,
      });
    else if (serials.length !== Math.abs(line.qty)) {
      errors.push({
        pointer: at(i, 'serials'),
        code: 'serial_count',
        detail: `${item.id} is tracked by serial number: give exactly ${Math.abs(line.qty)} serials (one per unit), not ${serials.length}.`,
      });
    }
  }
  return errors;
}

/** A serial or reservation named twice within one move. */
function repeatErrors(move: MoveInput, at: Pointer): FieldError[] {
  const errors: FieldError[] = [];
  const serialsSeen = new Set<string>();
  const reservationsSeen = new Set<string>();
  move.lines.forEach((line, i) => {
    (line.serials ?? []).forEach((serial, j) => {
      const key = serialKey(line.item_id, serial);
      if (serialsSeen.has(key))
        errors.push({
          pointer: at(i, `serials/${j}`),
          code: 'duplicate_serial',
          detail: `Serial ${serial} appears twice in this move.`,
        });
      serialsSeen.add(key);
    });
    if (line.reservation_id === undefined) return;
    if (reservationsSeen.has(line.reservation_id))
      errors.push({
        pointer: at(i, 'reservation_id'),
        code: 'duplicate_reservation',
        detail: `Reservation ${line.reservation_id} is consumed by another line already.`,
      });
    reservationsSeen.add(line.reservation_id);
  });
  return errors;
}

/** The move's lines resolved for posting, or 422 validation-error listing every broken rule. */
export function resolveLines(move: MoveInput, refs: References, at: Pointer): Line[] {
  const errors = [
    ...moveErrors(move, refs),
    ...move.lines.flatMap((line, i) => lineErrors(move, line, i, refs, at)),
    ...repeatErrors(move, at),
  ];
  if (errors.length) throw invalid(errors);
  return move.lines.map((input, index) => {
    const { source, dest } = endpointsOf(move, input.qty);
    return {
      index,
      input,
      amount: micro(Math.abs(input.qty)),
      source: validEndpoint(source),
      dest: validEndpoint(dest),
      sourceState: input.from_state ?? 'unrestricted',
      destState: input.to_state ?? 'unrestricted',
      trackBy: must(refs.items.get(input.item_id), 'item of a valid line').track_by,
    };
  });
}
