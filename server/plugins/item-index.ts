// Keeps the in-memory catalogue index (db/item-index.ts) loaded and fresh in every instance:
// loaded at start, item changes applied as their notifications arrive, reloaded whenever the
// listening connection (re)connects, since notifications sent while it was down are lost.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Sql } from '../../db/client.ts';
import { ItemIndex, ITEMS_CHANNEL } from '../../db/item-index.ts';

declare module 'fastify' {
  interface FastifyInstance {
    itemIndex: ItemIndex;
  }
}

export default fp(async function itemIndex(app: FastifyInstance, { sql }: { sql: Sql }) {
  const index = new ItemIndex(sql);
  const fail = (err: unknown) => app.log.warn({ err }, 'item index refresh failed; searches use SQL until the next reload');
  // Notifications of one tick are applied together.
  let changed = new Set<string>();
  const onChange = (id: string) => {
    if (!changed.size) {
      setImmediate(() => {
        const ids = [...changed];
        changed = new Set();
        index.refresh(ids).catch(fail);
      });
    }
    changed.add(id);
  };
  // Loaded before the server listens, so it never serves searches from a half-built index.
  await index.load();
  let reconnected = false;
  const listener = await sql.listen(ITEMS_CHANNEL, onChange, () => {
    if (reconnected) index.load().catch(fail);
    reconnected = true;
  });
  app.decorate('itemIndex', index);
  app.addHook('onClose', async () => { await listener.unlisten(); });
}, { name: 'item-index' });
