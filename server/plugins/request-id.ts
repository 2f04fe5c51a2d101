// docs/standards.md §2: keep a well-formed inbound X-Request-Id, mint a UUID otherwise; echo it on every
// response; continue a W3C traceparent by logging its trace id.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

const REQUEST_ID = /^[A-Za-z0-9._~+/=:-]{1,128}$/;
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** Fastify's genReqId: runs before any hook, so even the earliest error carries the id. */
export function requestIdFor(req: {
  headers: Record<string, string | string[] | undefined>;
}): string {
  const inbound = req.headers['x-request-id'];
  return typeof inbound === 'string' && REQUEST_ID.test(inbound) ? inbound : randomUUID();
}

export default fp(
  async function requestId(app: FastifyInstance) {
    // Callback hooks, as every per-request hook that need not wait: an async hook costs every
    // request a promise and a microtask more (docs/decisions/0022).
    app.addHook('onRequest', (request: FastifyRequest, _reply, done) => {
      const traceparent = request.headers.traceparent;
      const match = typeof traceparent === 'string' ? TRACEPARENT.exec(traceparent) : null;
      if (match && !/^0+$/.test(match[1])) request.log = request.log.child({ trace_id: match[1] });
      done();
    });
    app.addHook('onSend', (request, reply, payload, done) => {
      reply.header('X-Request-Id', request.id);
      done(null, payload);
    });
  },
  { name: 'request-id' },
);
