// Prometheus metrics at GET /metrics: request latency per operation, plus whatever other modules
// register on app.metrics (posting batch sizes, outbox lag, webhook failures). With a token
// configured (METRICS_TOKEN), scrapers send it as a bearer token; it is not a JWT, so the route
// compares it itself (in constant time) rather than through the auth plugin's verification.
import { hash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ProblemError } from '../../domain/problems.ts';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Registry;
  }
}

const digest = (text: string) => hash('sha256', text, 'buffer');

/** Whether an Authorization header carries `Bearer <token>` (the scheme in any case). */
function bearerMatches(header: string | undefined, token: string): boolean {
  const [scheme, sent, ...rest] = (header ?? '').split(' ');
  const bearer = scheme.toLowerCase() === 'bearer' && rest.length === 0;
  return timingSafeEqual(digest(bearer ? (sent ?? '') : ''), digest(token)) && bearer;
}

export default fp(
  async function metrics(app: FastifyInstance, { token }: { token?: string }) {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const duration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Request latency by operation, method and status code',
      labelNames: ['operation', 'method', 'status'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
    app.decorate('metrics', registry);
    app.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions;
      const operation =
        route.config.operation?.operationId ?? (route.url ? 'other' : 'unknown_route');
      duration.observe(
        { operation, method: request.method, status: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
      done();
    });
    app.get('/metrics', async (request, reply) => {
      if (token !== undefined && !bearerMatches(request.headers.authorization, token)) {
        throw new ProblemError(
          'unauthorized',
          'GET /metrics requires the metrics token (METRICS_TOKEN) as a bearer token.',
          {},
          { 'WWW-Authenticate': 'Bearer realm="inventory-api-metrics"' },
        );
      }
      reply.type(registry.contentType);
      return registry.metrics();
    });
  },
  { name: 'metrics' },
);
