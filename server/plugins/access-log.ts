// One structured log line per request (pino JSON): request id (the logger's binding), trace id
// when a traceparent came in, operation, status, latency, and who asked. Replaces Fastify's two
// default lines, which know neither the operation nor the actor.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

const LOGS_INFO = new Set(['trace', 'debug', 'info']);

export default fp(
  async function accessLog(app: FastifyInstance) {
    app.addHook('onResponse', (request, reply, done) => {
      // At LOG_LEVEL=warn or above (as in the bench) the line is never written: nor built.
      if (LOGS_INFO.has(request.log.level))
        request.log.info(
          {
            method: request.method,
            url: request.url,
            operation: request.routeOptions.config.operation?.operationId,
            status: reply.statusCode,
            latency_ms: Math.round(reply.elapsedTime * 100) / 100,
            actor: request.principal?.sub,
            client_id: request.principal?.clientId,
          },
          'request completed',
        );
      done();
    });
  },
  { name: 'access-log' },
);
