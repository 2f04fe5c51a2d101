// Lines given in another unit (docs/units.md): a document line carries its quantity either in stock
// units (`qty`, or `qty_received` on receipts) or as `uom` + `uom_qty`, exactly one of the two.
// Converted here, at the edge of each handler, before any business rule or the ledger sees the line:
// from then on the line has its quantity in stock units like any other, and keeps what was given
// only to store and echo it. A priced line given in a unit has its `unit_price` per that unit,
// converted to a price per stock unit the same exact way.
import type { FieldError } from '../../domain/problems.ts';
import { toNumber } from './quantity.ts';
import { checkStockQty, toStockPrice, toStockQty, type Units } from './units.ts';

import type { GivenUnits } from '../../db/purchase-orders.ts';

export type { GivenUnits };

interface UnitFields {
  uom?: string;
  uom_qty?: number;
  unit_price?: string;
}

/** A line with its quantity in stock units under `Q`, and what was given in a unit, if it was. */
export type InStockUnits<L, Q extends string> = Omit<L, 'uom' | 'uom_qty' | Q> & {
  [K in Q]: number;
} & { given?: GivenUnits };

/**
 * Resolves each line's quantity to stock units. `unitsOf` gives the line's item (undefined when
 * the item is unknown: other checks report that, and the line is left as it is). Errors point
 * into `#/lines/<i>/...`; a refused line's quantity is left as given (the caller throws).
 */
export function resolveLineUnits<L extends UnitFields, Q extends string>(
  lines: readonly L[],
  qtyField: Q,
  unitsOf: (line: L, index: number) => Units | undefined,
  { priced = false, at = (i: number) => `#/lines/${i}` } = {},
): { lines: InStockUnits<L, Q>[]; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const out = lines.map((line, i) => {
    const { uom, uom_qty, ...rest } = line as L & Record<string, unknown>;
    const qty = (line as Record<string, unknown>)[qtyField] as number | undefined;
    const pointer = `${at(i)}/`;
    const units = unitsOf(line, i);
    const keep = (q: number | undefined, given?: GivenUnits) =>
      ({ ...rest, [qtyField]: q, ...(given && { given }) }) as unknown as InStockUnits<L, Q>;
    if (qty !== undefined && (uom !== undefined || uom_qty !== undefined)) {
      errors.push({
        pointer: `${pointer}${uom_qty !== undefined ? 'uom_qty' : 'uom'}`,
        code: 'qty_or_uom',
        detail: `Give ${qtyField} (in stock units) or uom and uom_qty, not both.`,
      });
      return keep(qty);
    }
    if (qty === undefined && uom === undefined && uom_qty === undefined) {
      errors.push({
        pointer: `${pointer}${qtyField}`,
        code: 'required',
        detail: `Give ${qtyField} (in stock units), or uom and uom_qty.`,
      });
      return keep(qty);
    }
    if (qty !== undefined) {
      const checked = units ? checkStockQty(units, qty) : undefined;
      if (checked && !checked.ok)
        errors.push({
          pointer: `${pointer}${qtyField}`,
          code: checked.code,
          detail: checked.detail,
        });
      return keep(qty);
    }
    if (uom === undefined || uom_qty === undefined) {
      errors.push({
        pointer: `${pointer}${uom === undefined ? 'uom' : 'uom_qty'}`,
        code: 'required',
        detail: 'uom and uom_qty go together: the quantity and the unit it is in.',
      });
      return keep(qty);
    }
    if (!units) return keep(uom_qty);
    const converted = toStockQty(units, uom, uom_qty);
    if (!converted.ok) {
      const field = converted.code === 'unknown_uom' ? 'uom' : 'uom_qty';
      errors.push({
        pointer: `${pointer}${field}`,
        code: converted.code,
        detail: converted.detail,
      });
      return keep(uom_qty);
    }
    const given: GivenUnits = { uom, uom_qty };
    let priced_ = {};
    if (priced && line.unit_price !== undefined) {
      const price = toStockPrice(units, uom, line.unit_price);
      if (!price.ok)
        errors.push({ pointer: `${pointer}unit_price`, code: price.code, detail: price.detail });
      else {
        given.uom_unit_price = line.unit_price;
        priced_ = { unit_price: price.value };
      }
    }
    return { ...keep(toNumber(converted.value), given), ...priced_ } as InStockUnits<L, Q>;
  });
  return { lines: out, errors };
}

/** The stored columns of a line given in a unit (null when it was not). */
export function unitColumns(given: GivenUnits | undefined): {
  uom: string | null;
  uom_qty: number | null;
  uom_unit_price: string | null;
} {
  return {
    uom: given?.uom ?? null,
    uom_qty: given?.uom_qty ?? null,
    uom_unit_price: given?.uom_unit_price ?? null,
  };
}

/** What a stored line echoes: `uom` and `uom_qty` (and `uom_unit_price`) when given, nothing when null. */
export function echoUnits(row: {
  uom?: string | null;
  uom_qty?: number | null;
  uom_unit_price?: string | null;
}): Partial<GivenUnits> {
  if (
    row.uom === null ||
    row.uom === undefined ||
    row.uom_qty === null ||
    row.uom_qty === undefined
  )
    return {};
  return {
    uom: row.uom,
    uom_qty: row.uom_qty,
    ...(row.uom_unit_price !== null &&
      row.uom_unit_price !== undefined && { uom_unit_price: row.uom_unit_price }),
  };
}
