// The demo catalogue of `npm run seed`, and how it gets there: through the public API, so stock
// arrives the way it does in real life (purchase orders, receipts, a transfer) with its ledger,
// audit trail and events. The ids are those of the spec's examples (WH-A, sku-1, GLUE-500,
// DRILL-18V, ven_fasteners...), so the examples on /docs work as they are against a seeded server.
//
// Seeding converges rather than replays: every step first looks whether its result is there
// (an id that exists, a purchase order number, a transfer's reference) and does only what is
// missing, so running it twice, or again after an interruption, adds nothing twice.
import type { ApiClient, components } from '../../generated/client.ts';
import { must } from '../../domain/must.ts';

type Schemas = components['schemas'];
type PurchaseOrder = Schemas['PurchaseOrder'];
/** A create body with the id the API lets it choose, always given here (the spec's examples). */
type WithId<T> = T & { id: string };

const warehouses: Schemas['WarehouseCreate'][] = [
  { id: 'WH-A', name: 'Central warehouse, Antwerp' },
  { id: 'WH-B', name: 'North depot, Rotterdam' },
  { id: 'WH-C', name: 'Service van 1' },
];

const items: WithId<Schemas['ItemCreate']>[] = [
  { id: 'sku-1', sku: 'SKU-1', name: 'Hex bolt M8x40, zinc', uom: 'EA', track_by: 'NONE' },
  { id: 'sku-2', sku: 'SKU-2', name: 'Hex nut M8, zinc', uom: 'EA', track_by: 'NONE' },
  { id: 'sku-3', sku: 'SKU-3', name: 'Flat washer M8', uom: 'EA', track_by: 'NONE' },
  {
    id: 'CABLE-3G15',
    sku: 'CABLE-3G15',
    name: 'Installation cable 3G1.5 mm²',
    uom: 'M',
    track_by: 'NONE',
  },
  { id: 'GLUE-500', sku: 'GLUE-500', name: 'Epoxy glue 500 ml', uom: 'EA', track_by: 'BATCH' },
  {
    id: 'PAINT-9010',
    sku: 'PAINT-9010',
    name: 'Wall paint RAL 9010, 5 l',
    uom: 'EA',
    track_by: 'BATCH',
  },
  { id: 'DRILL-18V', sku: 'DRILL-18V', name: 'Cordless drill 18 V', uom: 'EA', track_by: 'SERIAL' },
  { id: 'METER-DM1', sku: 'METER-DM1', name: 'Digital multimeter', uom: 'EA', track_by: 'SERIAL' },
];

const vendors: WithId<Schemas['VendorCreate']>[] = [
  { id: 'ven_fasteners', name: 'Fasteners & Fixings NV', currency: 'EUR' },
  { id: 'ven_tools', name: 'ToolPro GmbH', currency: 'EUR' },
  { id: 'ven_chemicals', name: 'ChemSupply Ltd', currency: 'GBP', price_tolerance: '0.02' },
];

interface PlannedLine {
  item_id: string;
  qty: number;
  unit_price: string;
}
/** What arrives for one PO line: its quantity, in batches or with serials for tracked items. */
interface PlannedArrival {
  item_id: string;
  qty: number;
  batch?: string;
  expires_at?: string;
  serials?: string[];
}
interface PlannedOrder {
  number: string;
  vendor_id: string;
  lines: PlannedLine[];
  state: 'DRAFT' | 'SENT';
  /** Where the goods go: the order belongs to this warehouse, and its receipt goes there. */
  ship_to: string;
  /** Received right after sending (the PO becomes RECEIVED when all of it came). */
  receipt?: { arrivals: PlannedArrival[] };
  /** Items whose line's remainder the vendor will not deliver, cancelled after the receipt. */
  cancelRemaining?: string[];
  /** A change order once sent: the new lines (by item, all of them) and why. */
  revision?: { reason: string; lines: (PlannedLine & { expected_at?: string })[] };
}

const serials = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}-${String(i + 1).padStart(4, '0')}`);

const orders: PlannedOrder[] = [
  {
    number: 'PO-DEMO-0001',
    vendor_id: 'ven_fasteners',
    state: 'SENT',
    lines: [
      { item_id: 'sku-1', qty: 500, unit_price: '0.12' },
      { item_id: 'sku-2', qty: 500, unit_price: '0.05' },
      { item_id: 'sku-3', qty: 1000, unit_price: '0.02' },
      { item_id: 'CABLE-3G15', qty: 300, unit_price: '0.85' },
    ],
    ship_to: 'WH-A',
    receipt: {
      arrivals: [
        { item_id: 'sku-1', qty: 500 },
        { item_id: 'sku-2', qty: 500 },
        { item_id: 'sku-3', qty: 1000 },
        { item_id: 'CABLE-3G15', qty: 300 },
      ],
    },
  },
  {
    number: 'PO-DEMO-0002',
    vendor_id: 'ven_chemicals',
    state: 'SENT',
    lines: [
      { item_id: 'GLUE-500', qty: 40, unit_price: '8.50' },
      { item_id: 'PAINT-9010', qty: 12, unit_price: '39.90' },
    ],
    ship_to: 'WH-A',
    receipt: {
      arrivals: [
        { item_id: 'GLUE-500', qty: 24, batch: 'B2026-11', expires_at: '2027-11-30T00:00:00Z' },
        { item_id: 'GLUE-500', qty: 16, batch: 'B2027-01', expires_at: '2028-01-31T00:00:00Z' },
        { item_id: 'PAINT-9010', qty: 12, batch: 'P-4471', expires_at: '2028-06-30T00:00:00Z' },
      ],
    },
  },
  {
    number: 'PO-DEMO-0003',
    vendor_id: 'ven_tools',
    state: 'SENT',
    lines: [
      { item_id: 'DRILL-18V', qty: 5, unit_price: '129.00' },
      { item_id: 'METER-DM1', qty: 3, unit_price: '54.00' },
    ],
    ship_to: 'WH-A',
    receipt: {
      arrivals: [
        { item_id: 'DRILL-18V', qty: 5, serials: serials('DR', 5) },
        { item_id: 'METER-DM1', qty: 3, serials: serials('DM', 3) },
      ],
    },
  },
  // Open orders: one partly received (the rest of one line cancelled), one waiting for the
  // vendor (changed once it was sent: a change order), one not sent yet.
  {
    number: 'PO-DEMO-0004',
    vendor_id: 'ven_fasteners',
    state: 'SENT',
    lines: [
      { item_id: 'sku-1', qty: 1000, unit_price: '0.11' },
      { item_id: 'sku-2', qty: 1000, unit_price: '0.05' },
    ],
    ship_to: 'WH-B',
    receipt: { arrivals: [{ item_id: 'sku-1', qty: 400 }] },
    cancelRemaining: ['sku-1'],
  },
  {
    number: 'PO-DEMO-0005',
    vendor_id: 'ven_tools',
    state: 'SENT',
    ship_to: 'WH-B',
    lines: [{ item_id: 'DRILL-18V', qty: 2, unit_price: '127.50' }],
    revision: {
      reason: 'DEMO: a third drill for the new van; the vendor confirms delivery on 15 January',
      lines: [{ item_id: 'DRILL-18V', qty: 3, unit_price: '127.50', expected_at: '2027-01-15' }],
    },
  },
  {
    number: 'PO-DEMO-0006',
    vendor_id: 'ven_chemicals',
    state: 'DRAFT',
    ship_to: 'WH-A',
    lines: [{ item_id: 'GLUE-500', qty: 20, unit_price: '8.40' }],
  },
];

/** Goods sent back to the vendor of one demo order, by item. */
interface PlannedReturn {
  po_number: string;
  vendor_id: string;
  warehouse_id: string;
  reason: string;
  lines: { item_id: string; qty: number }[];
}

// 40 m of PO-DEMO-0001's cable came with a damaged sheath: it goes back, and the vendor credits it.
const vendorReturns: PlannedReturn[] = [
  {
    po_number: 'PO-DEMO-0001',
    vendor_id: 'ven_fasteners',
    warehouse_id: 'WH-A',
    reason: 'DEMO: damaged cable sheath',
    lines: [{ item_id: 'CABLE-3G15', qty: 40 }],
  },
];

/** A vendor's invoice or credit note against one demo order, its lines by item. */
interface PlannedInvoice {
  number: string;
  po_number: string;
  vendor_id: string;
  type: Schemas['InvoiceType'];
  lines: PlannedLine[];
}

// PO-DEMO-0001 is invoiced at its prices (MATCHED); PO-DEMO-0002's glue is invoiced above the
// vendor's 2 % tolerance (an EXCEPTION for someone with procurement:approve to accept or not);
// the vendor credits the cable of PO-DEMO-0001 that went back to it (after the return below).
const invoices: PlannedInvoice[] = [
  {
    number: 'INV-DEMO-1001',
    po_number: 'PO-DEMO-0001',
    vendor_id: 'ven_fasteners',
    type: 'INVOICE',
    lines: [
      { item_id: 'sku-1', qty: 500, unit_price: '0.12' },
      { item_id: 'sku-2', qty: 500, unit_price: '0.05' },
      { item_id: 'sku-3', qty: 1000, unit_price: '0.02' },
      { item_id: 'CABLE-3G15', qty: 300, unit_price: '0.85' },
    ],
  },
  {
    number: 'CN-DEMO-1001',
    po_number: 'PO-DEMO-0001',
    vendor_id: 'ven_fasteners',
    type: 'CREDIT_NOTE',
    lines: [{ item_id: 'CABLE-3G15', qty: 40, unit_price: '0.85' }],
  },
  {
    number: 'INV-DEMO-2001',
    po_number: 'PO-DEMO-0002',
    vendor_id: 'ven_chemicals',
    type: 'INVOICE',
    lines: [
      { item_id: 'GLUE-500', qty: 40, unit_price: '8.90' },
      { item_id: 'PAINT-9010', qty: 12, unit_price: '39.90' },
    ],
  },
];

const TRANSFER_REFERENCE = 'DEMO: restock the service van';
const transfer: Schemas['StockMoveCreate'] = {
  type: 'TRANSFER',
  from_wh: 'WH-A',
  to_wh: 'WH-C',
  reference: TRANSFER_REFERENCE,
  lines: [
    { item_id: 'sku-1', qty: 50 },
    { item_id: 'GLUE-500', qty: 4, batch: 'B2026-11' },
    { item_id: 'DRILL-18V', qty: 1, serials: ['DR-0005'] },
  ],
};

// Held stock: tins of paint found dented (damaged, waiting for the vendor's word) and a meter
// back from a technician, in quality control until it is tested.
const statusChanges: Schemas['StatusChangeCreate'][] = [
  {
    warehouse_id: 'WH-A',
    reason: 'DEMO: dented tins, waiting for the vendor',
    lines: [
      {
        item_id: 'PAINT-9010',
        qty: 2,
        batch: 'P-4471',
        from_state: 'unrestricted',
        to_state: 'damaged',
      },
    ],
  },
  {
    warehouse_id: 'WH-A',
    reason: 'DEMO: meter back from a technician, to be tested',
    lines: [
      {
        item_id: 'METER-DM1',
        qty: 1,
        serials: ['DM-0003'],
        from_state: 'unrestricted',
        to_state: 'quality_control',
      },
    ],
  },
];

/** What a run did: per kind, how many were created and how many were there already. */
export type SeedReport = Record<string, { created: number; present: number }>;

/** Fails with the problem the API answered when a call did not succeed. */
function ok<T>(what: string, res: { data?: T; error?: unknown; response: Response }): T {
  if (res.data === undefined)
    throw new Error(`${what}: ${res.response.status} ${JSON.stringify(res.error)}`);
  return res.data;
}

type Call = Promise<{ data?: unknown; error?: unknown; response: Response }>;

/** Creates what is not there yet (an earlier run, or you, may have made it); true when it did. */
async function ensure(what: string, get: () => Call, create: () => Call): Promise<boolean> {
  const existing = await get();
  if (existing.response.ok) return false;
  if (existing.response.status !== 404) ok(what, existing);
  ok(what, await create());
  return true;
}

async function findOrder(
  api: ApiClient,
  vendor_id: string,
  number: string,
): Promise<PurchaseOrder | undefined> {
  for (let cursor: string | undefined; ; ) {
    const page = ok(
      'list purchase orders',
      await api.GET('/procurement/purchase-orders', {
        params: { query: { vendor_id, cursor, limit: 200 } },
      }),
    );
    const found = page.data.find((po) => po.number === number);
    if (found || !page.page.next_cursor) return found;
    cursor = page.page.next_cursor;
  }
}

/**
 * Brings one planned order to its state. Keys are derived from the PO number: a retry after a
 * lost response within the 24 h retention replays instead of posting again.
 */
async function ensureOrder(api: ApiClient, plan: PlannedOrder): Promise<boolean> {
  const key = (step: string) => ({ 'Idempotency-Key': `demo-seed:${plan.number}:${step}` });
  let po = await findOrder(api, plan.vendor_id, plan.number);
  const created = !po;
  po ??= ok(
    `create ${plan.number}`,
    await api.POST('/procurement/purchase-orders', {
      params: { header: key('create') },
      body: {
        number: plan.number,
        vendor_id: plan.vendor_id,
        ship_to_warehouse_id: plan.ship_to,
        lines: plan.lines,
      },
    }),
  );
  if (plan.state === 'SENT' && po.status === 'DRAFT') {
    po = ok(
      `send ${plan.number}`,
      await api.POST('/procurement/purchase-orders/{id}/send', {
        params: { path: { id: po.id }, header: { ...key('send'), 'If-Match': po.etag } },
      }),
    );
  }
  // A receipt is one posting: all of it arrived, or nothing did.
  if (plan.receipt && po.lines.every((line) => line.qty_received === 0)) {
    const poLines = po.lines;
    const lineOf = (item_id: string) =>
      must(
        poLines.find((line) => line.item_id === item_id),
        `line of ${plan.number} for ${item_id}`,
      ).id;
    ok(
      `receive ${plan.number}`,
      await api.POST('/procurement/receipts', {
        params: { header: key('receipt') },
        body: {
          po_id: po.id,
          warehouse_id: plan.ship_to,
          lines: plan.receipt.arrivals.map(({ item_id, qty, ...tracking }) => ({
            po_line_id: lineOf(item_id),
            qty_received: qty,
            ...tracking,
          })),
        },
      }),
    );
  }
  for (const item_id of plan.cancelRemaining ?? []) {
    po = must(await findOrder(api, plan.vendor_id, plan.number), `${plan.number}, just made`);
    const line = must(
      po.lines.find((l) => l.item_id === item_id),
      `line of ${plan.number} for ${item_id}`,
    );
    if (po.status !== 'SENT' || line.qty_received + line.qty_cancelled >= line.qty) continue;
    ok(
      `cancel the rest of ${plan.number} ${item_id}`,
      await api.POST('/procurement/purchase-orders/{id}/lines/{line_id}/cancel-remaining', {
        params: {
          path: { id: po.id, line_id: line.id },
          header: { ...key(`cancel-remaining:${item_id}`), 'If-Match': po.etag },
        },
      }),
    );
  }
  if (plan.revision && po.status === 'SENT' && po.revision === 1) {
    const current = po.lines;
    const lines = plan.revision.lines.map((line) => ({
      id: current.find((l) => l.item_id === line.item_id)?.id,
      ...line,
    }));
    ok(
      `revise ${plan.number}`,
      await api.POST('/procurement/purchase-orders/{id}/revisions', {
        params: { path: { id: po.id }, header: { ...key('revision'), 'If-Match': po.etag } },
        body: { reason: plan.revision.reason, lines },
      }),
    );
  }
  return created;
}

async function ensureTransfer(api: ApiClient): Promise<boolean> {
  const moves = ok(
    'list transfers',
    await api.GET('/inventory/stock-moves', {
      params: {
        query: { type: 'TRANSFER', item_id: 'DRILL-18V', warehouse_id: transfer.to_wh, limit: 200 },
      },
    }),
  );
  if (moves.data.some((move) => move.reference === TRANSFER_REFERENCE)) return false;
  ok(
    'transfer',
    await api.POST('/inventory/stock-moves', {
      params: { header: { 'Idempotency-Key': 'demo-seed:transfer' } },
      body: transfer,
    }),
  );
  return true;
}

/** The order of a planned document, with a function giving its line for an item. */
async function orderOf(api: ApiClient, plan: { vendor_id: string; po_number: string }) {
  const po = must(
    await findOrder(api, plan.vendor_id, plan.po_number),
    `${plan.po_number}, made before its documents`,
  );
  const lineOf = (item_id: string) =>
    must(
      po.lines.find((line) => line.item_id === item_id),
      `line of ${plan.po_number} for ${item_id}`,
    ).id;
  return { po, lineOf };
}

async function ensureReturn(api: ApiClient, plan: PlannedReturn): Promise<boolean> {
  const { po, lineOf } = await orderOf(api, plan);
  const existing = ok(
    `list returns of ${plan.po_number}`,
    await api.GET('/procurement/vendor-returns', {
      params: { query: { po_id: po.id, limit: 200 } },
    }),
  );
  if (existing.data.some((r) => r.reason === plan.reason)) return false;
  ok(
    `return to the vendor of ${plan.po_number}`,
    await api.POST('/procurement/vendor-returns', {
      params: { header: { 'Idempotency-Key': `demo-seed:${plan.po_number}:return` } },
      body: {
        po_id: po.id,
        warehouse_id: plan.warehouse_id,
        reason: plan.reason,
        lines: plan.lines.map(({ item_id, qty }) => ({ po_line_id: lineOf(item_id), qty })),
      },
    }),
  );
  return true;
}

async function ensureInvoice(api: ApiClient, plan: PlannedInvoice): Promise<boolean> {
  const { po, lineOf } = await orderOf(api, plan);
  const existing = ok(
    `list invoices of ${plan.po_number}`,
    await api.GET('/procurement/invoices', { params: { query: { po_id: po.id, limit: 200 } } }),
  );
  if (existing.data.some((invoice) => invoice.number === plan.number)) return false;
  ok(
    `record ${plan.number}`,
    await api.POST('/procurement/invoices', {
      params: { header: { 'Idempotency-Key': `demo-seed:${plan.number}` } },
      body: {
        po_id: po.id,
        number: plan.number,
        type: plan.type,
        lines: plan.lines.map(({ item_id, ...line }) => ({ po_line_id: lineOf(item_id), ...line })),
      },
    }),
  );
  return true;
}

async function ensureStatusChange(
  api: ApiClient,
  body: Schemas['StatusChangeCreate'],
  step: number,
): Promise<boolean> {
  const existing = ok(
    'list status changes',
    await api.GET('/inventory/status-changes', {
      params: { query: { warehouse_id: body.warehouse_id, limit: 200 } },
    }),
  );
  if (existing.data.some((c) => c.reason === body.reason)) return false;
  ok(
    `status change: ${body.reason}`,
    await api.POST('/inventory/status-changes', {
      params: { header: { 'Idempotency-Key': `demo-seed:status-change:${step}` } },
      body,
    }),
  );
  return true;
}

// Locations: a few bins and docks in two warehouses, and one putaway rule. Made last, once the
// stock of the other steps is in place, so that none of it depends on them.
const locations: { warehouse_id: string; body: Schemas['LocationCreate'] }[] = [
  { warehouse_id: 'WH-A', body: { code: 'A-01-01', pick_order: 10 } },
  { warehouse_id: 'WH-A', body: { code: 'A-01-02', pick_order: 20 } },
  { warehouse_id: 'WH-A', body: { code: 'RCV-1', type: 'RECEIVING', pick_order: 90 } },
  { warehouse_id: 'WH-A', body: { code: 'SHP-1', type: 'SHIPPING', pick_order: 99 } },
  { warehouse_id: 'WH-B', body: { code: 'B-01-01', pick_order: 10 } },
  { warehouse_id: 'WH-B', body: { code: 'B-01-02', pick_order: 20 } },
  { warehouse_id: 'WH-B', body: { code: 'RCV-1', type: 'RECEIVING', pick_order: 90 } },
];

const putawayRules: Schemas['PutawayRuleCreate'][] = [
  { warehouse_id: 'WH-A', item_id: 'sku-1', location: 'A-01-01' },
];

// Put-away after the deliveries: stock received at DEFAULT moved into bins of its warehouse (a
// TRANSFER within one warehouse), so location levels show stock at several places.
const putAways: Schemas['StockMoveCreate'][] = [
  {
    type: 'TRANSFER',
    from_wh: 'WH-A',
    to_wh: 'WH-A',
    reference: 'DEMO: put-away WH-A',
    lines: [
      { item_id: 'sku-1', qty: 200, from_location: 'DEFAULT', to_location: 'A-01-01' },
      { item_id: 'GLUE-500', qty: 10, batch: 'B2026-11', to_location: 'A-01-02' },
    ],
  },
  {
    type: 'TRANSFER',
    from_wh: 'WH-B',
    to_wh: 'WH-B',
    reference: 'DEMO: put-away WH-B',
    lines: [{ item_id: 'sku-1', qty: 150, from_location: 'DEFAULT', to_location: 'B-01-01' }],
  },
];

async function ensurePutAway(api: ApiClient, body: Schemas['StockMoveCreate']): Promise<boolean> {
  const moves = ok(
    `list transfers of ${body.from_wh}`,
    await api.GET('/inventory/stock-moves', {
      params: { query: { type: 'TRANSFER', warehouse_id: body.from_wh, limit: 200 } },
    }),
  );
  if (moves.data.some((move) => move.reference === body.reference)) return false;
  ok(
    `put-away in ${body.from_wh}`,
    await api.POST('/inventory/stock-moves', {
      params: { header: { 'Idempotency-Key': `demo-seed:put-away:${body.from_wh}` } },
      body,
    }),
  );
  return true;
}

async function ensureLocations(api: ApiClient, count: (kind: string, created: boolean) => void) {
  for (const { warehouse_id, body } of locations) {
    const path = { id: warehouse_id };
    const existing = ok(
      `locations of ${warehouse_id}`,
      await api.GET('/inventory/warehouses/{id}/locations', {
        params: { path, query: { limit: 200 } },
      }),
    );
    const there = existing.data.some((l) => l.code === body.code);
    if (!there)
      ok(
        `location ${body.code} of ${warehouse_id}`,
        await api.POST('/inventory/warehouses/{id}/locations', { params: { path }, body }),
      );
    count('locations', !there);
  }
  for (const body of putawayRules) {
    const { warehouse_id, item_id } = body;
    const existing = ok(
      `putaway rules of ${item_id} in ${warehouse_id}`,
      await api.GET('/inventory/putaway-rules', { params: { query: { warehouse_id, item_id } } }),
    );
    const there = existing.data.length > 0;
    if (!there)
      ok(
        `putaway rule of ${item_id} in ${warehouse_id}`,
        await api.POST('/inventory/putaway-rules', { body }),
      );
    count('putaway rules', !there);
  }
}

// Units of measure (docs/units.md): bolts are bought by the box of 100 and held whole, cable by
// the 100 m drum or the foot (0.3048 m = 381/1250 m, exact). Given to items made without them.
const itemUnits: { id: string; conversions: Schemas['UomConversion'][]; integral: boolean }[] = [
  { id: 'sku-1', conversions: [{ uom: 'BOX', numerator: 100, denominator: 1 }], integral: true },
  {
    id: 'CABLE-3G15',
    conversions: [
      { uom: 'DRUM', numerator: 100, denominator: 1 },
      { uom: 'FT', numerator: 381, denominator: 1250 },
    ],
    integral: false,
  },
];

async function ensureUnits(api: ApiClient): Promise<{ created: number; present: number }> {
  const done = { created: 0, present: 0 };
  for (const plan of itemUnits) {
    const path = { id: plan.id };
    const item = ok(
      `item ${plan.id}`,
      await api.GET('/inventory/items/{id}', { params: { path } }),
    );
    if (item.uom_conversions?.length) {
      done.present++;
      continue;
    }
    const { sku, name, uom, track_by, active } = item;
    const body = { sku, name, uom, track_by, active, integral: plan.integral };
    ok(
      `units of item ${plan.id}`,
      await api.PUT('/inventory/items/{id}', {
        params: { path, header: { 'If-Match': item.etag } },
        body: { ...body, uom_conversions: plan.conversions },
      }),
    );
    done.created++;
  }
  return done;
}

// Replenishment (docs/replenishment.md): what buying bolts and nuts from Fasteners takes, with
// price breaks. Bolts are bought by the box of 100. Made last, so the orders above are as they were.
const vendorItems: Schemas['VendorItemCreate'][] = [
  {
    id: 'vi-fasteners-sku-1',
    vendor_id: 'ven_fasteners',
    item_id: 'sku-1',
    vendor_sku: 'FF-B840',
    purchase_uom: 'BOX',
    min_order_qty: 1,
    order_multiple: 1,
    lead_time_days: 5,
    currency: 'EUR',
    price_breaks: [
      { min_qty: 1, unit_price: '12.00' },
      { min_qty: 10, unit_price: '10.50' },
    ],
    preferred: true,
  },
  {
    id: 'vi-fasteners-sku-2',
    vendor_id: 'ven_fasteners',
    item_id: 'sku-2',
    vendor_sku: 'FF-N8',
    min_order_qty: 500,
    order_multiple: 100,
    lead_time_days: 5,
    currency: 'EUR',
    price_breaks: [
      { min_qty: 500, unit_price: '0.05' },
      { min_qty: 2000, unit_price: '0.045' },
    ],
    preferred: true,
  },
];

// The van (WH-C) should hold 100 to 300 bolts; it holds 50 after the transfer, so a run suggests
// 250, rounded up to whole boxes from Fasteners: 3 boxes, 300.
const reorderRules: Schemas['ReorderRuleCreate'][] = [
  {
    id: 'ror-wh-c-sku-1',
    item_id: 'sku-1',
    warehouse_id: 'WH-C',
    policy: 'MIN_MAX',
    min_qty: 100,
    max_qty: 300,
  },
];

async function ensureReplenishment(
  api: ApiClient,
  count: (kind: string, created: boolean) => void,
) {
  for (const body of vendorItems) {
    const path = { id: body.id as string };
    count(
      'vendor items',
      await ensure(
        `vendor item ${body.id}`,
        () => api.GET('/procurement/vendor-items/{id}', { params: { path } }),
        () =>
          api.POST('/procurement/vendor-items', {
            params: { header: { 'Idempotency-Key': `demo-seed:${body.id}` } },
            body,
          }),
      ),
    );
  }
  for (const body of reorderRules) {
    const path = { id: body.id as string };
    count(
      'reorder rules',
      await ensure(
        `reorder rule ${body.id}`,
        () => api.GET('/inventory/reorder-rules/{id}', { params: { path } }),
        () =>
          api.POST('/inventory/reorder-rules', {
            params: { header: { 'Idempotency-Key': `demo-seed:${body.id}` } },
            body,
          }),
      ),
    );
  }
}

export async function seedDemoData(api: ApiClient): Promise<SeedReport> {
  const report: SeedReport = {};
  const count = (kind: string, created: boolean) => {
    report[kind] ??= { created: 0, present: 0 };
    report[kind][created ? 'created' : 'present']++;
  };
  for (const body of warehouses) {
    const path = { id: body.id };
    count(
      'warehouses',
      await ensure(
        `warehouse ${body.id}`,
        () => api.GET('/inventory/warehouses/{id}', { params: { path } }),
        () => api.POST('/inventory/warehouses', { body }),
      ),
    );
  }
  for (const body of items) {
    const path = { id: body.id };
    count(
      'items',
      await ensure(
        `item ${body.id}`,
        () => api.GET('/inventory/items/{id}', { params: { path } }),
        () => api.POST('/inventory/items', { body }),
      ),
    );
  }
  report['item units'] = await ensureUnits(api);
  for (const body of vendors) {
    const path = { id: body.id };
    count(
      'vendors',
      await ensure(
        `vendor ${body.id}`,
        () => api.GET('/procurement/vendors/{id}', { params: { path } }),
        () => api.POST('/procurement/vendors', { body }),
      ),
    );
  }
  for (const plan of orders) count('purchase orders', await ensureOrder(api, plan));
  count('transfers', await ensureTransfer(api));
  for (const [i, body] of statusChanges.entries())
    count('status changes', await ensureStatusChange(api, body, i));
  // Invoiced as delivered, then returned, then credited: each document matched when recorded.
  const credit = (plan: PlannedInvoice) => plan.type === 'CREDIT_NOTE';
  for (const plan of invoices.filter((p) => !credit(p)))
    count('invoices', await ensureInvoice(api, plan));
  for (const plan of vendorReturns) count('vendor returns', await ensureReturn(api, plan));
  for (const plan of invoices.filter(credit)) count('invoices', await ensureInvoice(api, plan));
  await ensureLocations(api, count);
  for (const body of putAways) count('put-aways', await ensurePutAway(api, body));
  await ensureReplenishment(api, count);
  return report;
}
