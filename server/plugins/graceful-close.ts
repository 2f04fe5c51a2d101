// Graceful close (SIGTERM in server/main.ts): Fastify stops accepting, answers new requests on open
// connections with 503 (return503OnClosing) and lets requests in flight finish. Their answers
// carry `Connection: close` here: the keep-alive connection of a request that was in flight when
// closing began would otherwise stay open, idle, until its keep-alive timeout (72 s), and hold the
// process (and the webhook dispatcher's and pools' shutdown behind it) that long.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export default fp(
  async function gracefulClose(app: FastifyInstance) {
    let closing = false;
    app.addHook('preClose', async () => {
      closing = true;
    });
    app.addHook('onSend', (_request, reply, payload, done) => {
      if (closing) reply.header('connection', 'close');
      done(null, payload);
    });
  },
  { name: 'graceful-close' },
);
