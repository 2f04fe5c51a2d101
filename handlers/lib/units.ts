// Units of measure, exact. An item is stocked in its own `uom` (the stock unit) and may name other
// units, each a ratio of positive integers: 1 `uom` = numerator/denominator stock units. Every
// conversion is done in whole millionths (bigint, handlers/lib/quantity.ts) and is exact or
// refused: a result that needs more than 6 decimals, exceeds the largest quantity (or price), or
// is fractional for an integral item is never rounded, so no figure drifts (1,000 ft does not
// become 1,000.010 and a receipt in another unit never counts as an over-receipt).
//
// Pure: no SQL, no HTTP. Callers turn a refusal into a 422 at the field it came from.
import { decimal, micro, type Micro } from './quantity.ts';

const SCALE = 1_000_000n;

/** The largest quantity the spec's Quantity allows, in millionths. */
export const QTY_MAX: Micro = 1_000_000_000n * SCALE;
/** The largest price the spec's Money allows (12 integer digits, 6 decimals), in millionths. */
export const PRICE_MAX: Micro = 1_000_000_000_000n * SCALE - 1n;

export interface UomConversion {
  uom: string;
  numerator: number;
  denominator: number;
}

/** What converting needs of an item: its stock unit, its other units and whether it is integral. */
export interface Units {
  uom: string;
  uom_conversions: readonly UomConversion[];
  integral: boolean;
}

/** The business codes of a refused conversion (422 validation-error `code`). */
export type UnitsRefusal = 'unknown_uom' | 'uom_not_exact' | 'uom_not_integral' | 'maximum';

export type Converted<T> =
  | { ok: true; value: T }
  | { ok: false; code: UnitsRefusal; detail: string };

/** 1 unit = numerator/denominator stock units. */
export interface Ratio {
  numerator: bigint;
  denominator: bigint;
}

const ok = <T>(value: T): Converted<T> => ({ ok: true, value });
const refused = <T>(code: UnitsRefusal, detail: string): Converted<T> => ({
  ok: false,
  code,
  detail,
});

/** The ratio of `uom` to the stock unit: 1/1 for the stock unit itself, null for a unit the item does not name. */
export function ratioOf(units: Units, uom: string): Ratio | null {
  if (uom === units.uom) return { numerator: 1n, denominator: 1n };
  const c = units.uom_conversions.find((x) => x.uom === uom);
  return c ? { numerator: BigInt(c.numerator), denominator: BigInt(c.denominator) } : null;
}

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y) [x, y] = [y, x % y];
  return x;
}

/** `num/den` (millionths over `den`) as text: a decimal when it has one, else a reduced fraction. */
function exactText(num: bigint, den: bigint): string {
  if (num % den === 0n) return decimal(num / den);
  const n = num;
  const d = den * SCALE;
  const g = gcd(n, d);
  return `${n / g}/${d / g}`;
}

function unknown<T>(units: Units, uom: string): Converted<T> {
  const known = [units.uom, ...units.uom_conversions.map((c) => c.uom)].join(', ');
  return refused('unknown_uom', `The item has no unit ${uom} (its units: ${known}).`);
}

const asMicro = (q: number | Micro): Micro => (typeof q === 'bigint' ? q : micro(q));

/** Whether a quantity in millionths is whole. */
export const isWhole = (qty: Micro): boolean => qty % SCALE === 0n;

/**
 * `uomQty` of `uom` in stock units (millionths), exact: refused when the result needs more than 6
 * decimals (`uom_not_exact`), exceeds the largest quantity (`maximum`), is fractional for an
 * integral item (`uom_not_integral`) or the item has no such unit (`unknown_uom`). Signed
 * quantities (adjustments) convert the same way.
 */
export function toStockQty(units: Units, uom: string, uomQty: number | Micro): Converted<Micro> {
  const r = ratioOf(units, uom);
  if (!r) return unknown(units, uom);
  const given = asMicro(uomQty);
  const scaled = given * r.numerator;
  if (scaled % r.denominator !== 0n)
    return refused(
      'uom_not_exact',
      `${decimal(given)} ${uom} is ${exactText(scaled, r.denominator)} ${units.uom}, which needs more than 6 decimals; nothing is rounded.`,
    );
  const qty = scaled / r.denominator;
  if (qty > QTY_MAX || -qty > QTY_MAX)
    return refused(
      'maximum',
      `${decimal(given)} ${uom} is ${decimal(qty)} ${units.uom}, more than the largest quantity (${decimal(QTY_MAX)}).`,
    );
  if (units.integral && !isWhole(qty))
    return refused(
      'uom_not_integral',
      `${decimal(given)} ${uom} is ${decimal(qty)} ${units.uom}, but the item is held in whole ${units.uom} only.`,
    );
  return ok(qty);
}

/** A quantity already in stock units, checked against the item's integrality (`uom_not_integral`). */
export function checkStockQty(units: Units, qty: number | Micro): Converted<Micro> {
  const m = asMicro(qty);
  if (units.integral && !isWhole(m))
    return refused(
      'uom_not_integral',
      `${decimal(m)} ${units.uom} is not whole, but the item is held in whole ${units.uom} only.`,
    );
  return ok(m);
}

/**
 * `qty` stock units (millionths) expressed in `uom`: exact (`uom_not_exact` when it needs more
 * than 6 decimals), or with `rounding: 'up'` the smallest quantity in millionths of `uom` that
 * holds at least `qty` (away from zero), for suggestions that must cover a need.
 */
export function toUomQty(
  units: Units,
  uom: string,
  qty: number | Micro,
  rounding: 'exact' | 'up' = 'exact',
): Converted<Micro> {
  const r = ratioOf(units, uom);
  if (!r) return unknown(units, uom);
  const m = asMicro(qty);
  const scaled = m * r.denominator;
  const rest = scaled % r.numerator;
  if (rest !== 0n && rounding === 'exact')
    return refused(
      'uom_not_exact',
      `${decimal(m)} ${units.uom} is ${exactText(scaled, r.numerator)} ${uom}, which needs more than 6 decimals; nothing is rounded.`,
    );
  let out = scaled / r.numerator;
  if (rest !== 0n) out += m < 0n ? -1n : 1n;
  if (out > QTY_MAX || -out > QTY_MAX)
    return refused(
      'maximum',
      `${decimal(m)} ${units.uom} is ${decimal(out)} ${uom}, more than the largest quantity (${decimal(QTY_MAX)}).`,
    );
  return ok(out);
}

/** A decimal string with at most 6 decimals (a Money or SignedMoney), in millionths; null if it is not one. */
export function parseDecimal(text: string): Micro | null {
  const m = /^(-?)([0-9]+)(?:\.([0-9]{1,6}))?$/.exec(text);
  if (!m) return null;
  const value = BigInt(m[2]) * SCALE + BigInt((m[3] ?? '').padEnd(6, '0'));
  return m[1] ? -value : value;
}

function convertPrice(
  units: Units,
  uom: string,
  price: string,
  toStock: boolean,
): Converted<string> {
  const r = ratioOf(units, uom);
  if (!r) return unknown(units, uom);
  const given = parseDecimal(price);
  if (given === null || given <= 0n)
    return refused('uom_not_exact', `${price} is not a positive decimal with at most 6 decimals.`);
  // Per stock unit: price × denominator / numerator (a unit holds numerator/denominator of them).
  const [mul, div] = toStock ? [r.denominator, r.numerator] : [r.numerator, r.denominator];
  const scaled = given * mul;
  const [from, to] = toStock ? [uom, units.uom] : [units.uom, uom];
  if (scaled % div !== 0n)
    return refused(
      'uom_not_exact',
      `${price} per ${from} is ${exactText(scaled, div)} per ${to}, which needs more than 6 decimals; nothing is rounded.`,
    );
  const out = scaled / div;
  if (out > PRICE_MAX)
    return refused(
      'maximum',
      `${price} per ${from} is ${decimal(out)} per ${to}, more than the largest price.`,
    );
  return ok(decimal(out));
}

/** A unit price per `uom` as a price per stock unit (decimal string), exact or refused like quantities. */
export function toStockPrice(units: Units, uom: string, pricePerUom: string): Converted<string> {
  return convertPrice(units, uom, pricePerUom, true);
}

/** A unit price per stock unit as a price per `uom` (decimal string), exact or refused. */
export function toUomPrice(
  units: Units,
  uom: string,
  pricePerStockUnit: string,
): Converted<string> {
  return convertPrice(units, uom, pricePerStockUnit, false);
}

/**
 * What is wrong with an item's conversions, as [index, field, code, detail]: a unit named twice
 * (`duplicate_uom`) or the stock unit itself (`stock_uom`). The schema checks the rest.
 */
export function conversionErrors(
  uom: string,
  conversions: readonly UomConversion[],
): { index: number; code: string; detail: string }[] {
  const errors: { index: number; code: string; detail: string }[] = [];
  const seen = new Set<string>();
  conversions.forEach((c, index) => {
    if (c.uom === uom)
      errors.push({
        index,
        code: 'stock_uom',
        detail: `${c.uom} is the item's own unit (1 ${c.uom} = 1 ${uom}); name other units only.`,
      });
    else if (seen.has(c.uom))
      errors.push({ index, code: 'duplicate_uom', detail: `${c.uom} is named more than once.` });
    seen.add(c.uom);
  });
  return errors;
}
