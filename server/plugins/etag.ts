// STANDARDS §5: strong ETags derived from a document's version, If-None-Match → 304 on GET.
// If-Match is checked where the write happens (handlers lock the row and compare), so the check
// and the write are atomic; its presence is required by the spec (428 when missing).
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export function etagOf(version: number): string {
  return `"v${version}"`;
}

/** True when an If-Match / If-None-Match header value lists this version's tag (or `*`). Weak tags never match. */
export function etagMatches(header: string | undefined, version: number): boolean {
  if (!header) return false;
  const tag = etagOf(version);
  return header.split(',').some((t) => {
    const candidate = t.trim();
    return candidate === '*' || candidate === tag;
  });
}

export default fp(
  async function etag(app: FastifyInstance) {
    app.addHook('onSend', async (request, reply, payload) => {
      if (request.method !== 'GET' || reply.statusCode !== 200) return payload;
      const current = reply.getHeader('etag');
      const ifNoneMatch = request.headers['if-none-match'];
      if (typeof current !== 'string' || typeof ifNoneMatch !== 'string') return payload;
      // If-None-Match uses weak comparison (RFC 9110 §13.1.2): W/"v3" matches "v3".
      const hit = ifNoneMatch
        .split(',')
        .some((t) => t.trim() === '*' || t.trim().replace(/^W\//, '') === current);
      if (!hit) return payload;
      reply.code(304);
      reply.removeHeader('content-type');
      reply.removeHeader('content-length');
      return '';
    });
  },
  { name: 'etag' },
);
