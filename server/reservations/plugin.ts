// Expires due reservations while the server runs, so that their events (`inventory.reservation.expired`
// and the level's `inventory.stock_level.changed`) are sent when they expire, not when their level is
// next written. Started once the server is ready, stopped when it closes. Every instance sweeps; they
// share the work through row locks (sweepReservations skips levels another transaction holds), and a
// reservation expires once whichever path gets to it first, a writer's (lockLevels) or a sweeper's.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { inTransaction, type Sql } from '../../db/client.ts';
import { sweepReservations } from '../../handlers/reservations.ts';

/** Levels one sweeping transaction expires at most; a full sweep goes on at once with the next ones. */
const LEVELS_PER_SWEEP = 100;

export default fp(
  async function reservationSweeper(
    app: FastifyInstance,
    { sql, pollMs }: { sql: Sql; pollMs: number },
  ) {
    const log = app.log.child({ component: 'reservation-sweeper' });
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<void> | undefined;
    let stopped = false;

    const sweep = async () => {
      try {
        // Until a transaction leaves levels for the next one: each commits its expiries and events.
        while (!stopped) {
          const expired = await inTransaction(sql, (tx) => sweepReservations(tx, LEVELS_PER_SWEEP));
          if (expired < LEVELS_PER_SWEEP) break;
        }
      } catch (err) {
        log.error({ err }, 'sweeping due reservations failed; trying again at the next poll');
      }
    };
    const schedule = () => {
      if (stopped) return;
      timer = setTimeout(() => {
        running = sweep().finally(schedule);
      }, pollMs);
      timer.unref();
    };

    app.addHook('onReady', async () => {
      if (pollMs > 0) schedule();
    });
    app.addHook('onClose', async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    });
  },
  { name: 'reservation-sweeper' },
);
