// docs/standards.md §5: If-None-Match → 304 on GET. The ETags themselves are strong tags of a
// document's version, made and compared (If-Match) in handlers/lib/versioned.ts, where the write
// happens: handlers lock the row and compare, so the check and the write are atomic. The spec
// requires If-Match where a write needs it (428 when missing).
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export default fp(
  async function etag(app: FastifyInstance) {
    app.addHook('onSend', (request, reply, payload, done) => {
      if (request.method !== 'GET' || reply.statusCode !== 200) return done(null, payload);
      const current = reply.getHeader('etag');
      const ifNoneMatch = request.headers['if-none-match'];
      if (typeof current !== 'string' || typeof ifNoneMatch !== 'string')
        return done(null, payload);
      // If-None-Match uses weak comparison (RFC 9110 §13.1.2): W/"v3" matches "v3".
      const hit = ifNoneMatch
        .split(',')
        .some((t) => t.trim() === '*' || t.trim().replace(/^W\//, '') === current);
      if (!hit) return done(null, payload);
      reply.code(304);
      reply.removeHeader('content-type');
      reply.removeHeader('content-length');
      done(null, '');
    });
  },
  { name: 'etag' },
);
