// Keeps the in-memory catalogue index (db/item-index.ts) loaded and fresh in every instance:
// listening first, then loaded (so no change committed in between is missed), item changes applied
// as their notifications arrive, reloaded whenever the listening connection (re)connects, since
// notifications sent while it was down are lost. Loads and refreshes run one at a time, in order,
// so an older snapshot never overwrites a newer one. LISTEN needs a session of its own
// (`listenSql`, the direct connection behind a transaction-pooling PgBouncer).
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Sql } from '../../db/client.ts';
import { FEED_CHANNEL, lastPosition } from '../../db/feed.ts';
import { ItemIndex, ITEMS_CHANNEL } from '../../db/item-index.ts';

declare module 'fastify' {
  interface FastifyInstance {
    itemIndex: ItemIndex;
  }
}

export default fp(
  async function itemIndex(app: FastifyInstance, { sql, listenSql }: { sql: Sql; listenSql: Sql }) {
    const index = new ItemIndex(sql);
    const fail = (err: unknown) => {
      // Until the next load, searches answer the feed's start as events_after: a client
      // following from there cannot miss the change the index may lack.
      index.lost();
      app.log.warn(
        { err },
        'item index refresh failed; changed items may be searched by their old text until the next reload',
      );
    };
    let queue: Promise<void> = Promise.resolve();
    const inTurn = (work: () => Promise<void>) => (queue = queue.then(work, work));
    // Notifications of one tick are applied together.
    let changed = new Set<string>();
    const onChange = (id: string) => {
      if (!changed.size) {
        setImmediate(() => {
          const ids = [...changed];
          changed = new Set();
          inTurn(() => index.refresh(ids)).catch(fail);
        });
      }
      changed.add(id);
    };
    // A feed position, notified as the fan-out commits it, comes after the notifications of the
    // changes it numbered (one listening connection gets them in commit order): once the refreshes
    // queued before it are done, the index reflects every change up to it. Queued the same way as
    // item changes (next tick), so it waits for a batch that arrived with it.
    const onPosition = (position: string) =>
      setImmediate(() => inTurn(async () => index.reflects(position)));
    let loaded: Promise<void> | undefined;
    const listener = await listenSql.listen(ITEMS_CHANNEL, onChange, () => {
      loaded = inTurn(async () => {
        // Read before the load: every change up to it is in what the load reads.
        const position = await lastPosition(sql);
        await index.load();
        index.reloaded(position);
      });
      loaded.catch(fail);
    });
    const positions = await listenSql.listen(FEED_CHANNEL, onPosition);
    // Loaded before the server listens, so it never serves searches from a half-built index.
    await loaded;
    app.decorate('itemIndex', index);
    // The database may be gone as the server closes (and the LISTEN session with it): closing must
    // not fail for that, as the webhook dispatcher's does not.
    app.addHook('onClose', async () => {
      await Promise.all([listener.unlisten(), positions.unlisten()]).catch((err: unknown) =>
        app.log.warn({ err }, 'stopping to listen for item changes failed while closing'),
      );
    });
  },
  { name: 'item-index' },
);
