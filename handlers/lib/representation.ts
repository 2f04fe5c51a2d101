// Database rows → the spec's JSON. Optional members are left out rather than sent as null,
// because the spec types them as plain strings/numbers.
import type { components } from '../../generated/api.ts';
import type { LineRow, MoveRow } from '../../db/stock-moves.ts';
import type { ReservationRow } from '../../db/reservations.ts';

export type StockMove = components['schemas']['StockMove'];
export type Reservation = components['schemas']['Reservation'];

function withoutNulls<T extends object>(row: T): { [K in keyof T]: Exclude<T[K], null> } {
  return Object.fromEntries(Object.entries(row).filter(([, v]) => v !== null)) as { [K in keyof T]: Exclude<T[K], null> };
}

export function toStockMove(move: MoveRow, lines: LineRow[]): StockMove {
  return {
    ...withoutNulls(move),
    lines: lines.map(({ move_id: _m, line_no: _n, ...line }) => withoutNulls(line)),
  };
}

export function toReservation({ reference, consumed_by, ...row }: ReservationRow): Reservation {
  return { ...row, ...withoutNulls({ reference, consumed_by }) };
}
