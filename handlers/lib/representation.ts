// Database rows → the spec's JSON. Optional members are left out rather than sent as null,
// because the spec types them as plain strings/numbers.
import type { components } from '../../generated/api.ts';
import type { LineRow, MoveRow } from '../../db/stock-moves.ts';
import type { ReservationRow } from '../../db/reservations.ts';
import { present } from './documents.ts';

export type StockMove = components['schemas']['StockMove'];
export type Reservation = components['schemas']['Reservation'];

export function toStockMove(move: MoveRow, lines: LineRow[]): StockMove {
  return {
    ...present(move),
    lines: lines.map(({ move_id: _m, line_no: _n, ...line }) => present(line)),
  };
}

export function toReservation({ reference, consumed_by, ...row }: ReservationRow): Reservation {
  return { ...row, ...present({ reference, consumed_by }) };
}
