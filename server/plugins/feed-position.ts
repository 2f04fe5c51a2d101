// The feed position a list answers as page.events_after (docs/events.md, "Snapshot, then
// follow"): the largest position this instance knows to be committed. Any position committed
// before the list is read will do: every event up to it is of a change the list shows, and every
// change the list does not show gets a larger one, positions being given after commit and in
// order (db/webhook-dispatch.ts). Knowing it costs a list nothing: the fan-out NOTIFYs each new
// position (delivered as it commits), the position is read again whenever the listening
// connection (re)connects, and every few seconds in case a notification was lost. A position that
// lags only makes a client apply again a few events it had already copied.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Sql } from '../../db/client.ts';
import { FEED_CHANNEL, lastPosition } from '../../db/feed.ts';

declare module 'fastify' {
  interface FastifyInstance {
    feedPosition: FeedPosition;
  }
}

const REFRESH_MS = 5_000;

export class FeedPosition {
  private value = 0n;

  /** The largest committed position known (a decimal string). */
  get current(): string {
    return String(this.value);
  }

  /** Learns of a committed position; never goes back (notifications may arrive out of order). */
  advance(position: string): void {
    const p = BigInt(position);
    if (p > this.value) this.value = p;
  }
}

export default fp(
  async function feedPosition(
    app: FastifyInstance,
    { sql, listenSql }: { sql: Sql; listenSql: Sql },
  ) {
    const known = new FeedPosition();
    const refresh = async () => {
      try {
        known.advance(await lastPosition(sql));
      } catch (err) {
        app.log.warn({ err }, 'reading the feed position failed; lists answer the last one known');
      }
    };
    const listener = await listenSql.listen(FEED_CHANNEL, (p) => known.advance(p), refresh);
    await refresh();
    const timer = setInterval(refresh, REFRESH_MS).unref();
    app.decorate('feedPosition', known);
    app.addHook('onClose', async () => {
      clearInterval(timer);
      await listener
        .unlisten()
        .catch((err: unknown) =>
          app.log.warn({ err }, 'stopping to listen for feed positions failed while closing'),
        );
    });
  },
  { name: 'feed-position' },
);
