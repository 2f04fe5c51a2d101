// Reservations: available = on_hand - reserved, consumption by an ISSUE line, release, and expiry
// that takes effect without any background job.
import t from 'tap';
import type { TestServer } from './helpers/server.ts';
import { level, postMove, posted, reserve, startStockServer } from './helpers/stock.ts';

/** Time passing, without waiting: the reservation's expiry moves into the past. */
async function letExpire(s: TestServer, id: string): Promise<void> {
  await s.sql`UPDATE reservations SET expires_at = now() - interval '1 second' WHERE id = ${id}`;
}

const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();

t.test('reserve, consume by an ISSUE line, release', async (t) => {
  const { api } = await startStockServer(t, ['WH-A', 'WH-B'], { 'sku-1': 'NONE', 'sku-2': 'NONE' });
  await posted(api, {
    type: 'RECEIPT',
    to_wh: 'WH-A',
    lines: [
      { item_id: 'sku-1', qty: 10 },
      { item_id: 'sku-2', qty: 10 },
    ],
  });

  const created = await reserve(api, {
    item_id: 'sku-1',
    warehouse_id: 'WH-A',
    qty: 8,
    reference: 'SO-1042',
    expires_at: inAnHour(),
  });
  t.equal(created.response.status, 201);
  const r = created.data!;
  t.match(r, {
    id: /^res_/,
    item_id: 'sku-1',
    warehouse_id: 'WH-A',
    qty: 8,
    status: 'ACTIVE',
    reference: 'SO-1042',
  });
  t.equal(created.response.headers.get('location'), `/inventory/reservations/${r.id}`);
  t.match(await level(api, 'sku-1', 'WH-A'), { on_hand: 10, reserved: 8, available: 2 });

  const more = await reserve(api, { item_id: 'sku-1', warehouse_id: 'WH-A', qty: 3 });
  t.equal(more.response.status, 409);
  t.match(more.error, {
    type: /insufficient-available$/,
    item_id: 'sku-1',
    warehouse_id: 'WH-A',
    requested: 3,
    available: 2,
  });
  const nothing = await reserve(api, { item_id: 'sku-1', warehouse_id: 'WH-B', qty: 1 });
  t.match(nothing.error, { status: 409, available: 0 }, 'no stock level at all');
  const unreserved = await postMove(api, {
    type: 'ISSUE',
    from_wh: 'WH-A',
    lines: [{ item_id: 'sku-1', qty: 3 }],
  });
  t.match(
    unreserved.error,
    { status: 409, type: /over-issuance$/, requested: 3, available: 2 },
    'reserved stock cannot be issued without the reservation',
  );

  const wrong = await postMove(api, {
    type: 'ISSUE',
    from_wh: 'WH-A',
    lines: [
      { item_id: 'sku-2', qty: 1, reservation_id: r.id },
      { item_id: 'sku-1', qty: 1, reservation_id: 'res_nope' },
    ],
  });
  t.same(
    wrong.error?.errors?.map((e) => [e.pointer, e.code]),
    [
      ['#/lines/0/reservation_id', 'reservation_mismatch'],
      ['#/lines/1/reservation_id', 'unknown_reservation'],
    ],
  );

  const consume = await postMove(api, {
    type: 'ISSUE',
    from_wh: 'WH-A',
    lines: [{ item_id: 'sku-1', qty: 9, reservation_id: r.id }],
  });
  t.equal(consume.response.status, 201, JSON.stringify(consume.error));
  t.match(consume.data?.lines, [{ item_id: 'sku-1', qty: 9, reservation_id: r.id }]);
  t.match(
    (await api.GET('/inventory/reservations/{id}', { params: { path: { id: r.id } } })).data,
    { status: 'CONSUMED', consumed_by: consume.data?.id },
  );
  t.match(
    await level(api, 'sku-1', 'WH-A'),
    { on_hand: 1, reserved: 0, available: 1 },
    'the reservation and 1 more were issued',
  );
  const twice = await postMove(api, {
    type: 'ISSUE',
    from_wh: 'WH-A',
    lines: [{ item_id: 'sku-1', qty: 1, reservation_id: r.id }],
  });
  t.match(twice.error, { status: 409, type: /invalid-state$/, current_status: 'CONSUMED' });
  const consumedAudit = await api.GET('/inventory/audit', {
    params: { query: { entity: 'reservation', id: r.id } },
  });
  t.same(
    consumedAudit.data?.data.map((e) => e.action),
    ['reservation.consumed', 'reservation.created'],
  );

  const held = (await reserve(api, { item_id: 'sku-2', warehouse_id: 'WH-A', qty: 4 })).data!;
  const release = () =>
    api.POST('/inventory/reservations/{id}/release', { params: { path: { id: held.id } } });
  const released = await release();
  t.equal(released.response.status, 200);
  t.match(released.data, { id: held.id, status: 'RELEASED' });
  t.match(await level(api, 'sku-2', 'WH-A'), { reserved: 0, available: 10 });
  t.match((await release()).error, {
    status: 409,
    type: /invalid-state$/,
    current_status: 'RELEASED',
    allowed_statuses: ['ACTIVE'],
  });
  t.equal(
    (
      await api.POST('/inventory/reservations/{id}/release', {
        params: { path: { id: 'res_nope' } },
      })
    ).response.status,
    404,
  );
});

t.test(
  'an expired reservation stops counting at once, and is marked EXPIRED by the next writer',
  async (t) => {
    const { s, api } = await startStockServer(t, ['WH-A'], { 'sku-1': 'NONE' });
    await posted(api, { type: 'RECEIPT', to_wh: 'WH-A', lines: [{ item_id: 'sku-1', qty: 10 }] });
    const r = (
      await reserve(api, {
        item_id: 'sku-1',
        warehouse_id: 'WH-A',
        qty: 10,
        expires_at: inAnHour(),
      })
    ).data!;
    t.match(await level(api, 'sku-1', 'WH-A'), { reserved: 10, available: 0 });

    await letExpire(s, r.id);
    t.match(
      await level(api, 'sku-1', 'WH-A'),
      { reserved: 0, available: 10 },
      'reads leave it out with no writer involved',
    );
    t.match(
      (await api.GET('/inventory/reservations/{id}', { params: { path: { id: r.id } } })).data,
      { status: 'EXPIRED' },
    );
    const expired = await api.GET('/inventory/reservations', {
      params: { query: { status: 'EXPIRED' } },
    });
    t.same(
      expired.data?.data.map((x) => x.id),
      [r.id],
    );
    t.same(
      (await api.GET('/inventory/reservations', { params: { query: { status: 'ACTIVE' } } })).data
        ?.data,
      [],
    );
    const consume = await postMove(api, {
      type: 'ISSUE',
      from_wh: 'WH-A',
      lines: [{ item_id: 'sku-1', qty: 1, reservation_id: r.id }],
    });
    t.match(consume.error, { status: 409, type: /invalid-state$/, current_status: 'EXPIRED' });
    t.match(
      (await api.POST('/inventory/reservations/{id}/release', { params: { path: { id: r.id } } }))
        .error,
      { status: 409, current_status: 'EXPIRED' },
    );

    const again = await reserve(api, { item_id: 'sku-1', warehouse_id: 'WH-A', qty: 10 });
    t.equal(again.response.status, 201, 'its stock can be reserved again');
    const [row] =
      await s.sql`SELECT r.status, s.reserved FROM reservations r JOIN stock_levels s USING (item_id, warehouse_id) WHERE r.id = ${r.id}`;
    t.same(
      { ...row },
      { status: 'EXPIRED', reserved: 10 },
      'the writer marked it EXPIRED and took it out of the stored reserved',
    );
  },
);

t.test('reservation validation, warehouse scope and pagination', async (t) => {
  const { s, api } = await startStockServer(t, ['WH-A', 'WH-B'], {
    'sku-1': 'NONE',
    drill: 'SERIAL',
  });
  await posted(api, { type: 'RECEIPT', to_wh: 'WH-A', lines: [{ item_id: 'sku-1', qty: 10 }] });
  await posted(api, {
    type: 'RECEIPT',
    to_wh: 'WH-B',
    lines: [
      { item_id: 'sku-1', qty: 10 },
      { item_id: 'drill', qty: 2, serials: ['D1', 'D2'] },
    ],
  });

  const bad = await reserve(api, {
    item_id: 'nope',
    warehouse_id: 'WH-C',
    qty: 1,
    expires_at: '2020-01-01T00:00:00Z',
  });
  t.same(
    bad.error?.errors?.map((e) => [e.pointer, e.code]),
    [
      ['#/item_id', 'unknown_item'],
      ['#/warehouse_id', 'unknown_warehouse'],
      ['#/expires_at', 'in_the_past'],
    ],
  );
  const fraction = await reserve(api, { item_id: 'drill', warehouse_id: 'WH-B', qty: 1.5 });
  t.same(
    fraction.error?.errors?.map((e) => [e.pointer, e.code]),
    [['#/qty', 'whole_number']],
  );

  const ids: string[] = [];
  for (const wh of ['WH-A', 'WH-B', 'WH-A'])
    ids.push((await reserve(api, { item_id: 'sku-1', warehouse_id: wh, qty: 1 })).data!.id);
  const first = await api.GET('/inventory/reservations', {
    params: { query: { item_id: 'sku-1', limit: 2 } },
  });
  t.same(
    first.data?.data.map((r) => r.id),
    [ids[2], ids[1]],
    'newest first',
  );
  t.equal(first.data?.page.has_more, true);
  const second = await api.GET('/inventory/reservations', {
    params: { query: { item_id: 'sku-1', limit: 2, cursor: first.data!.page.next_cursor } },
  });
  t.same(
    second.data?.data.map((r) => r.id),
    [ids[0]],
  );

  const onlyA = s.client({ warehouses: ['WH-A'] });
  t.same(
    (await onlyA.GET('/inventory/reservations', {})).data?.data.map((r) => r.id),
    [ids[2], ids[0]],
  );
  t.match(
    (await onlyA.GET('/inventory/reservations/{id}', { params: { path: { id: ids[1] } } })).error,
    { status: 403, warehouse_id: 'WH-B' },
  );
  t.match((await reserve(onlyA, { item_id: 'sku-1', warehouse_id: 'WH-B', qty: 1 })).error, {
    status: 403,
    warehouse_id: 'WH-B',
  });
  t.match(
    (await onlyA.POST('/inventory/reservations/{id}/release', { params: { path: { id: ids[1] } } }))
      .error,
    { status: 403 },
  );
  t.match(
    await level(api, 'sku-1', 'WH-B'),
    { reserved: 1 },
    'the forbidden release changed nothing',
  );
});
