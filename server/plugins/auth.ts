// docs/standards.md §3: OAuth2 bearer JWTs. The token is verified for every request in onRequest (so a bad
// token is 401 before any parsing or validation); operations with a security requirement reject
// requests without a valid token, and their scopes are compared before validation (403).
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
} from 'fastify';
import fp from 'fastify-plugin';
import fastifyJwt from '@fastify/jwt';
import type { AuthConfig } from '../config.ts';
import { ProblemError } from '../../domain/problems.ts';
import type { OperationMeta } from '../spec.ts';
import type { Principal } from '../../domain/access.ts';
import { KeySet } from './jwks.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    authProblem: ProblemError | null;
  }
  interface FastifyContextConfig {
    operation?: OperationMeta;
  }
}

const ALGORITHMS = ['RS256', 'ES256'];
const CLOCK_TOLERANCE_MS = 60_000;
const REALM = 'Bearer realm="inventory-api"';

function invalidToken(description: string): ProblemError {
  return new ProblemError(
    'unauthorized',
    description,
    {},
    {
      'WWW-Authenticate': `${REALM}, error="invalid_token", error_description="${description.replace(/"/g, "'")}"`,
    },
  );
}

function principalOf(claims: Record<string, unknown>): Principal {
  const { sub, client_id: clientId, scope, warehouses } = claims;
  if (typeof sub !== 'string' || sub === '') throw invalidToken('The token has no sub claim.');
  if (clientId !== undefined && typeof clientId !== 'string')
    throw invalidToken('The client_id claim must be a string.');
  if (scope !== undefined && typeof scope !== 'string')
    throw invalidToken('The scope claim must be a space-separated string.');
  if (
    warehouses !== undefined &&
    !(Array.isArray(warehouses) && warehouses.every((w) => typeof w === 'string'))
  ) {
    throw invalidToken('The warehouses claim must be an array of warehouse ids.');
  }
  return {
    sub,
    clientId: clientId || sub,
    scopes: new Set((scope ?? '').split(' ').filter(Boolean)),
    warehouses: warehouses === undefined ? null : new Set(warehouses as string[]),
  };
}

/** A client-facing reason, from @fastify/jwt's code and fast-jwt's message (which it wraps). */
function describeJwtError(err: { code?: string; message: string }): string {
  const text = `${err.code} ${err.message}`;
  if (/EXPIRED|expired/.test(text)) return 'The access token expired.';
  if (/INACTIVE|not active yet|nbf/.test(text)) return 'The access token is not valid yet.';
  if (/MISSING_REQUIRED_CLAIM|claim is required|does not contain/.test(text))
    return 'The access token lacks a required claim (iss, aud and exp are required).';
  if (/\b(iss|aud) claim/.test(text))
    return 'The access token was issued by or for someone else (iss/aud).';
  if (/algorithm/i.test(text))
    return 'The access token is signed with an algorithm we do not accept (RS256 or ES256 only).';
  if (/signature/i.test(text)) return 'The access token signature is invalid.';
  return 'The access token is malformed or cannot be verified.';
}

/**
 * Principals of tokens verified before, by the token's exact text, until the token's exp. A client
 * sends the same token for an hour: this saves each request the signature cache's SHA-256 of the
 * token and @fastify/jwt's decode around it (~10% of a search request's CPU), which a cache key
 * option of fast-jwt alone would not. Only successes are kept (fast-jwt's own cache still answers a
 * repeated bad token); a token in its clock-tolerance minute after exp is verified in full again.
 */
export class VerifiedTokens {
  private readonly byToken = new Map<string, { principal: Principal; until: number }>();
  constructor(private readonly max: number) {}

  get(token: string): Principal | undefined {
    const hit = this.byToken.get(token);
    if (hit && hit.until > Date.now()) return hit.principal;
    if (hit) this.byToken.delete(token);
    return undefined;
  }

  set(token: string, principal: Principal, exp: unknown) {
    if (typeof exp !== 'number') return;
    // Oldest first out: a Map iterates in insertion order.
    if (this.byToken.size >= this.max && !this.byToken.has(token)) {
      const oldest = this.byToken.keys().next();
      if (!oldest.done) this.byToken.delete(oldest.value);
    }
    this.byToken.set(token, { principal, until: exp * 1000 });
  }
}

export interface AuthOptions {
  auth: AuthConfig;
  /** PEM public key used when auth.publicKeyPem is unset and no JWKS URL is configured (dev key). */
  fallbackPublicKeyPem?: string;
}

export default fp(
  async function authPlugin(app: FastifyInstance, { auth, fallbackPublicKeyPem }: AuthOptions) {
    let secret: any;
    if (auth.jwksUrl) {
      // Keys are only ever fetched from the configured URL, never from one a token names.
      const keys = new KeySet(auth.jwksUrl, (err) =>
        app.log.warn({ err }, 'fetching the JWKS failed; the keys fetched before stay in use'),
      );
      secret = async (
        _request: FastifyRequest,
        token: { header: { kid?: string; alg?: string } },
      ) => keys.publicKey(token.header.kid, token.header.alg);
    } else {
      const pem = auth.publicKeyPem ?? fallbackPublicKeyPem;
      if (!pem) throw new Error('no public key configured for token verification');
      secret = { public: pem };
    }
    await app.register(fastifyJwt, {
      secret,
      decode: { complete: true },
      verify: {
        algorithms: ALGORITHMS as any,
        allowedIss: auth.issuer,
        allowedAud: auth.audience,
        // fast-jwt checks iss and aud only when a token has them: without these, a token with
        // neither would pass.
        requiredClaims: ['exp', 'iss', 'aud'],
        clockTolerance: CLOCK_TOLERANCE_MS,
        cache: 10_000,
        // A refusal is remembered for the token's clock tolerance, except one for a key the set
        // lacked or could not be fetched: after a key rotation or an outage, that token must be
        // checked again at once, not refused for a minute.
        // (fast-jwt keeps a refusal until now + clockTolerance + this.)
        errorCacheTTL: (err: { code?: string }) =>
          err.code === 'FAST_JWT_KEY_FETCHING_ERROR' ? -(CLOCK_TOLERANCE_MS + 1) : -1,
      },
    });

    const verified = new VerifiedTokens(10_000);
    app.decorateRequest('principal', null);
    app.decorateRequest('authProblem', null);

    // Verify whatever token came, for every request (unknown routes too, so they are rate limited per client).
    // A callback hook: a known token (nearly every request) is settled without a promise.
    app.addHook('onRequest', (request, reply, done) => {
      const header = request.headers.authorization;
      if (!header) return done();
      const [scheme, token, ...rest] = header.split(' ');
      if (scheme.toLowerCase() !== 'bearer' || !token || rest.length) {
        request.authProblem = invalidToken(
          'Send the access token as "Authorization: Bearer <token>".',
        );
        return done();
      }
      const known = verified.get(token);
      if (known) {
        request.principal = known;
        return done();
      }
      verifyNew(request, reply, token).then(() => done(), done);
    });

    async function verifyNew(request: FastifyRequest, reply: FastifyReply, token: string) {
      // A signature check costs far more than a request with a known token, and a new key id may
      // cost a key-set fetch: a token never seen is first counted against its IP's quota.
      await app.limitUnverified(request, reply);
      try {
        const claims = await request.jwtVerify<Record<string, unknown>>();
        request.principal = principalOf(claims);
        verified.set(token, request.principal, claims.exp);
      } catch (err: any) {
        request.authProblem =
          err instanceof ProblemError ? err : invalidToken(describeJwtError(err));
      }
    }
  },
  { name: 'auth', dependencies: ['rate-limit'] },
);

/** Route onRequest hook: an operation with a security requirement needs a valid token (401). */
export function requireToken(
  request: FastifyRequest,
  _reply: FastifyReply,
  done: HookHandlerDoneFunction,
) {
  const op = request.routeOptions.config.operation;
  if (!op || op.scopes === null) return done();
  if (request.authProblem) throw request.authProblem;
  if (!request.principal) {
    throw new ProblemError(
      'unauthorized',
      'This operation requires a bearer token.',
      {},
      { 'WWW-Authenticate': REALM },
    );
  }
  done();
}

/**
 * Route preValidation hook: the token must carry the operation's scopes (403), checked before the
 * body is. A callback hook, like requireToken and checkInput: what they throw reaches Fastify as
 * an async hook's rejection would.
 */
export function requireScopes(
  request: FastifyRequest,
  _reply: FastifyReply,
  done: HookHandlerDoneFunction,
) {
  const op = request.routeOptions.config.operation;
  const { principal } = request;
  if (!op?.scopes || !principal) return done();
  const missing = op.scopes.filter((s) => !principal.scopes.has(s));
  if (missing.length) {
    throw new ProblemError(
      'insufficient-scope',
      `This operation requires the scope ${missing.join(' ')}.`,
      { required_scopes: op.scopes },
      {
        'WWW-Authenticate': `${REALM}, error="insufficient_scope", scope="${op.scopes.join(' ')}"`,
      },
    );
  }
  done();
}
