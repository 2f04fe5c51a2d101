// Business validation of what a procurement document refers to: items and vendors must exist and
// be active, currencies must be ISO 4217. Each check returns field errors (JSON pointers into the
// caller's body) so a handler can report every problem of a request at once (422).
import { itemActivity, vendorRefs, type VendorRef } from '../../db/references.ts';
import type { Db } from '../../db/client.ts';
import type { FieldError } from '../../server/problem.ts';

// The schema only checks the shape (three capital letters); the runtime knows the real codes.
const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

export function currencyErrors(code: string | undefined, pointer: string): FieldError[] {
  if (code === undefined || CURRENCIES.has(code)) return [];
  return [{ pointer, code: 'unknown_currency', detail: `${code} is not an ISO 4217 currency code.` }];
}

/** Errors for lines whose item_id names no item, or an inactive one. */
export async function itemErrors(db: Db, lines: { item_id: string }[], pointer: (index: number) => string): Promise<FieldError[]> {
  const active = await itemActivity(db, [...new Set(lines.map((l) => l.item_id))]);
  return lines.flatMap((line, i): FieldError[] => {
    const state = active.get(line.item_id);
    if (state === undefined) return [{ pointer: pointer(i), code: 'unknown_item', detail: `No item ${line.item_id} exists.` }];
    if (!state) return [{ pointer: pointer(i), code: 'inactive_item', detail: `Item ${line.item_id} is inactive.` }];
    return [];
  });
}

/** Looks up vendors by id and reports each reference to a missing or inactive one at its pointer. */
export async function lookUpVendors(db: Db, refs: { id: string; pointer: string }[]): Promise<{ vendors: Map<string, VendorRef>; errors: FieldError[] }> {
  const vendors = await vendorRefs(db, [...new Set(refs.map((r) => r.id))]);
  const errors = refs.flatMap(({ id, pointer }): FieldError[] => {
    const vendor = vendors.get(id);
    if (!vendor) return [{ pointer, code: 'unknown_vendor', detail: `No vendor ${id} exists.` }];
    if (!vendor.active) return [{ pointer, code: 'inactive_vendor', detail: `Vendor ${id} is inactive.` }];
    return [];
  });
  return { vendors, errors };
}
