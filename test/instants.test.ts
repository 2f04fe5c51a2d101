// Date-times the spec accepts (RFC 3339, ajv-formats' date-time) in forms Date.parse refuses: a
// leap second and an offset of hours alone. Each is the instant PostgreSQL reads, never a 500.
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { instantOf, isoInstant } from '../domain/instants.ts';
import { startServer } from './helpers/server.ts';

t.test('instants of the forms Date.parse refuses', async (t) => {
  t.equal(
    isoInstant('2030-06-30T23:59:60Z'),
    '2030-07-01T00:00:00.000Z',
    'a leap second is the next',
  );
  t.equal(isoInstant('2030-06-30 23:59:60Z'), '2030-07-01T00:00:00.000Z', 'with a space too');
  t.equal(isoInstant('2030-06-30T12:00:00+01'), '2030-06-30T11:00:00.000Z', 'an offset in hours');
  t.equal(
    isoInstant('2030-06-30T12:00:00.1234567z'),
    '2030-06-30T12:00:00.123Z',
    'to the millisecond',
  );
  t.equal(instantOf('not a date'), null);
  t.equal(isoInstant('not a date'), 'not a date', 'left for PostgreSQL to refuse');
});

t.test(
  'a reservation and a batch expiring at a leap second or in an offset of hours',
  async (t) => {
    const s = await startServer(t);
    const api = s.client();
    await api.POST('/inventory/warehouses', { body: { id: 'WH-A', name: 'Main' } });
    await api.POST('/inventory/items', {
      body: { id: 'glue', sku: 'GLUE', name: 'Glue', uom: 'EA', track_by: 'BATCH' },
    });
    const received = await api.POST('/inventory/stock-moves', {
      params: { header: { 'Idempotency-Key': randomUUID() } },
      body: {
        type: 'RECEIPT',
        to_wh: 'WH-A',
        lines: [
          { item_id: 'glue', qty: 5, batch: 'B1', expires_at: '2030-06-30T23:59:60Z' },
          { item_id: 'glue', qty: 5, batch: 'B2', expires_at: '2030-06-30T12:00:00+01' },
        ],
      },
    });
    t.equal(received.response.status, 201);
    t.strictSame(
      received.data?.lines.map((l) => l.expires_at),
      ['2030-07-01T00:00:00.000Z', '2030-06-30T11:00:00.000Z'],
    );
    const reserved = await api.POST('/inventory/reservations', {
      params: { header: { 'Idempotency-Key': randomUUID() } },
      body: { item_id: 'glue', warehouse_id: 'WH-A', qty: 1, expires_at: '2030-06-30 23:59:60Z' },
    });
    t.equal(reserved.response.status, 201);
    t.equal(reserved.data?.expires_at, '2030-07-01T00:00:00.000Z');
    const read = await api.GET('/inventory/reservations/{id}', {
      params: { path: { id: reserved.data!.id } },
    });
    t.equal(read.data?.expires_at, reserved.data?.expires_at, 'as stored');
  },
);
