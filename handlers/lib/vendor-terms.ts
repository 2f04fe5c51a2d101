// The terms of a vendor item applied to a quantity: its minimum order and multiple, and the price
// break that applies. Vendor items count in their purchase unit; documents count in stock units.
// Everything is exact: quantities in millionths (bigint), prices as decimal strings.
import type { Db } from '../../db/client.ts';
import {
  activeVendorItems,
  type PriceBreakRow,
  type VendorItemRow,
} from '../../db/vendor-items.ts';
import type { FieldError } from '../../domain/problems.ts';
import { decimal, micro, type Micro } from './quantity.ts';
import { ratioOf, toStockPrice, type Ratio } from './units.ts';

/**
 * How many stock units one purchase unit is, as a fraction (handlers/lib/units.ts): the vendor
 * item's purchase unit is one its item names, checked when the vendor item is written. Null when
 * the item no longer names it (its units were replaced since): such a vendor item prices nothing
 * and checks nothing until it is written again.
 */
export function purchaseFactor(vi: Pick<VendorItemRow, 'purchase_uom' | 'units'>): Ratio | null {
  return ratioOf(vi.units, vi.purchase_uom);
}

/** A stock quantity in the vendor item's purchase unit; null when that is not exact to 6 decimals. */
export function toPurchase(vi: VendorItemRow, stock: Micro): Micro | null {
  const factor = purchaseFactor(vi);
  if (!factor) return null;
  const { numerator, denominator } = factor;
  const scaled = stock * denominator;
  return scaled % numerator === 0n ? scaled / numerator : null;
}

/** The break with the greatest min_qty not above the quantity (in purchase units), if any. */
export function applicableBreak(vi: VendorItemRow, purchase: Micro): PriceBreakRow | undefined {
  let found: PriceBreakRow | undefined;
  for (const b of vi.price_breaks) if (micro(b.min_qty) <= purchase) found = b;
  return found;
}

/** A price per purchase unit as one per stock unit (units.ts, exact); null when not exact. */
export function pricePerStockUnit(vi: VendorItemRow, perPurchaseUnit: string): string | null {
  // The same unit: the price as the vendor item gives it, digits and all.
  if (vi.purchase_uom === vi.units.uom) return perPurchaseUnit;
  const converted = toStockPrice(vi.units, vi.purchase_uom, perPurchaseUnit);
  return converted.ok ? converted.value : null;
}

/**
 * What a purchase order line of `qty` stock units breaks of the vendor item's terms: under its
 * minimum, or not a whole multiple of its order multiple (pointer at the line's qty).
 */
export function orderQtyErrors(vi: VendorItemRow, qty: number, pointer: string): FieldError[] {
  const purchase = toPurchase(vi, micro(qty));
  const unit = vi.purchase_uom;
  if (purchase === null)
    return [
      {
        pointer,
        code: 'not_order_multiple',
        detail: `${qty} is no whole number of millionths of ${unit}, the unit ${vi.vendor_id} sells ${vi.item_id} in.`,
      },
    ];
  const errors: FieldError[] = [];
  if (vi.min_order_qty !== null && purchase < micro(vi.min_order_qty))
    errors.push({
      pointer,
      code: 'below_min_order_qty',
      detail: `${vi.vendor_id} sells ${vi.item_id} from ${vi.min_order_qty} ${unit} on (vendor item ${vi.id}); ${decimal(purchase)} ${unit} ordered.`,
    });
  if (vi.order_multiple !== null && purchase % micro(vi.order_multiple) !== 0n)
    errors.push({
      pointer,
      code: 'not_order_multiple',
      detail: `${vi.vendor_id} sells ${vi.item_id} in multiples of ${vi.order_multiple} ${unit} (vendor item ${vi.id}); ${decimal(purchase)} ${unit} ordered.`,
    });
  return errors;
}

/**
 * The unit price (per stock unit) of `qty` stock units from the applicable break, in `currency`;
 * or why there is none.
 */
export function priceOf(
  vi: VendorItemRow,
  qty: number,
  currency: string,
): { price: string } | { reason: string } {
  if (vi.currency !== currency)
    return { reason: `vendor item ${vi.id} prices in ${vi.currency}, not ${currency}` };
  const purchase = toPurchase(vi, micro(qty));
  const found = purchase === null ? undefined : applicableBreak(vi, purchase);
  if (!found)
    return {
      reason: `no price break of vendor item ${vi.id} applies to ${qty} ${vi.purchase_uom}${vi.price_breaks.length ? ` (the smallest starts at ${vi.price_breaks[0].min_qty})` : ''}`,
    };
  const price = pricePerStockUnit(vi, found.unit_price);
  if (price === null)
    return {
      reason: `${found.unit_price} per ${vi.purchase_uom} is no exact price per stock unit`,
    };
  return { price };
}

/** A line to be ordered: from a vendor, in a currency, priced or to be priced. */
export interface OrderedLine {
  vendor_id: string;
  currency: string;
  item_id: string;
  qty: number;
  unit_price?: string;
}

/**
 * Lines of purchase orders checked against their vendor's active vendor item for the item, when
 * there is one: the minimum and multiple (at `pointer(i, 'qty')`), and a line without a price
 * priced from the applicable break (422 `no_price_break` at `pointer(i, 'unit_price')` without
 * one; `required` when the vendor has no vendor item for the item). Returns each line's unit
 * price, or the errors. One query for all lines.
 */
export async function applyVendorTerms(
  db: Db,
  lines: OrderedLine[],
  pointer: (index: number, field: 'qty' | 'unit_price') => string,
): Promise<{ prices: string[]; errors: FieldError[] }> {
  const rows = await activeVendorItems(db, lines);
  const terms = new Map(rows.map((vi) => [`${vi.vendor_id}\u0000${vi.item_id}`, vi]));
  const errors: FieldError[] = [];
  const prices = lines.map((line, i) => {
    const found = terms.get(`${line.vendor_id}\u0000${line.item_id}`);
    // A vendor item whose purchase unit its item no longer names has no terms to apply.
    const vi = found && purchaseFactor(found) ? found : undefined;
    if (vi) errors.push(...orderQtyErrors(vi, line.qty, pointer(i, 'qty')));
    if (line.unit_price !== undefined) return line.unit_price;
    const priced = vi
      ? priceOf(vi, line.qty, line.currency)
      : {
          reason: found
            ? `vendor item ${found.id} buys in ${found.purchase_uom}, which ${line.item_id} no longer names`
            : `${line.vendor_id} has no active vendor item for ${line.item_id}`,
        };
    if ('price' in priced) return priced.price;
    // Without any vendor item there are no breaks: the price is simply missing, as before
    // vendor items existed.
    errors.push({
      pointer: pointer(i, 'unit_price'),
      code: found ? 'no_price_break' : 'required',
      detail: `No unit_price was given and ${priced.reason}; give a unit_price.`,
    });
    return '';
  });
  return { prices, errors };
}
