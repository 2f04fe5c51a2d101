// docs/standards.md §7: a quota per client (the verified token's client_id; the IP when unauthenticated),
// announced on every response with RateLimit-Policy / RateLimit (draft-ietf-httpapi-ratelimit-headers).
// Counting is @fastify/rate-limit's (in memory, or Redis when several instances share the quota).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import fastifyRateLimit from '@fastify/rate-limit';
import { Redis } from 'ioredis';
import { ProblemError } from '../../domain/problems.ts';

declare module 'fastify' {
  interface FastifyInstance {
    limitRate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
    /** The IP's quota, for a request whose token is about to be verified (plugins/auth.ts). */
    limitUnverified: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  }
  interface FastifyRequest {
    countedByIp: boolean;
  }
}

export interface RateLimitOptions {
  max: number;
  windowS: number;
  redisUrl?: string;
}

export default fp(
  async function rateLimit(app: FastifyInstance, { max, windowS, redisUrl }: RateLimitOptions) {
    const redis = redisUrl
      ? new Redis(redisUrl, {
          connectTimeout: 2000,
          maxRetriesPerRequest: 1,
          enableOfflineQueue: false,
        })
      : undefined;
    if (redis)
      app.addHook('onClose', async () => {
        redis.disconnect();
      });
    await app.register(fastifyRateLimit, {
      global: false,
      max,
      timeWindow: windowS * 1000,
      redis,
      nameSpace: 'inventory-api-rl:',
      // A broken Redis must not take the API down with it: serve unlimited until it is back.
      skipOnError: true,
      keyGenerator: (request: FastifyRequest) =>
        request.principal ? `client:${request.principal.clientId}` : `ip:${request.ip}`,
    });
    const check = app.createRateLimit();
    const policy = `"default";q=${max};w=${windowS}`;

    app.decorateRequest('countedByIp', false);
    // Before verification the key is the IP (no principal yet); after it, the client. A token that
    // failed verification leaves the request anonymous: it counted against its IP once already.
    app.decorate('limitUnverified', async (request: FastifyRequest, reply: FastifyReply) => {
      await count(request, reply);
      request.countedByIp = true;
    });
    app.decorate('limitRate', async (request: FastifyRequest, reply: FastifyReply) => {
      if (!request.countedByIp || request.principal) await count(request, reply);
    });

    async function count(request: FastifyRequest, reply: FastifyReply) {
      const result = await check(request);
      if (result.isAllowed) return;
      reply.header('RateLimit-Policy', policy);
      reply.header('RateLimit', `"default";r=${result.remaining};t=${result.ttlInSeconds}`);
      if (result.isExceeded) {
        throw new ProblemError(
          'quota-exceeded',
          `Quota of ${max} requests per ${windowS} s used up; retry in ${result.ttlInSeconds} s.`,
          {},
          {
            'Retry-After': String(result.ttlInSeconds),
          },
        );
      }
    }
  },
  { name: 'rate-limit' },
);
