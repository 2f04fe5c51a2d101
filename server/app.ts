// Assembles the server. One request, in order:
//   onRequest     request id → bearer token verified (401 decided here, before any parsing)
//                 → rate limit keyed by the verified client → 401 if the operation needs a token
//   preValidation scopes from the spec's security requirement (403)
//   validation    body/query/headers against the spec (422; 400/428 for missing Idempotency-Key/If-Match)
//   handler       operation runner → handlers/<resource>.ts in one transaction with idempotency
//   onSend        X-Request-Id, RateLimit headers, ETag/304
//   errors        problems plugin → application/problem+json
// Beside requests, the webhook dispatcher (webhooks/) delivers outbox events while the server runs.
import Fastify, {
  LogController,
  type FastifyInstance,
  type FastifyServerOptions,
  type RouteOptions,
} from 'fastify';
import openapiGlue from 'fastify-openapi-glue';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { Sql } from '../db/client.ts';
import { handlers } from '../handlers/index.ts';
import type { AnyHandler } from '../handlers/types.ts';
import type { Config } from './config.ts';
import { operationHandler } from './operation.ts';
import { serialize } from '../domain/json.ts';
import { operations, spec } from './spec.ts';
import jsonBody, { checkInput } from './plugins/json-body.ts';
import problems, {
  clientErrorHandler,
  frameworkErrors,
  notFoundHandler,
} from './plugins/problems.ts';
import requestId, { requestIdFor } from './plugins/request-id.ts';
import auth, { requireScopes, requireToken } from './plugins/auth.ts';
import rateLimit from './plugins/rate-limit.ts';
import etag from './plugins/etag.ts';
import pagination from './plugins/pagination.ts';
import itemIndex from './plugins/item-index.ts';
import feedPosition from './plugins/feed-position.ts';
import { WritePath } from './writes/index.ts';
import { ReadReplicas, type ReplicaPool } from './replicas.ts';
import metrics from './plugins/metrics.ts';
import accessLog from './plugins/access-log.ts';
import docs from './plugins/docs.ts';
import gracefulClose from './plugins/graceful-close.ts';
import responseValidation from './plugins/response-validation.ts';
import webhooks from './webhooks/plugin.ts';
import reservationSweeper from './reservations/plugin.ts';

export interface AppOptions {
  config: Config;
  sql: Sql;
  /** Public key for the dev token issuer, when config.auth.dev. */
  devPublicKeyPem?: string;
  logger?: FastifyServerOptions['logger'];
  /**
   * The pool the webhook dispatcher LISTENs and queries on (default `sql`); null runs no dispatcher
   * in this process (`npm run seed`: delivering events is the servers' job).
   */
  dispatcherSql?: Sql | null;
  /** Pools on streaming replicas that lists may be read from (none: every read on `sql`). */
  replicas?: ReplicaPool[];
}

function createAjv(coerceTypes: boolean) {
  // OpenAPI 3.1 schemas are JSON Schema 2020-12. Unknown fields are errors, never silently dropped;
  // only query strings, path parameters and headers (always text on the wire) are coerced.
  const ajv = new Ajv2020({
    strict: false,
    allErrors: true,
    useDefaults: true,
    removeAdditional: false,
    coerceTypes,
    multipleOfPrecision: 8,
  });
  addFormats.default(ajv);
  return ajv;
}

/** Node lowercases incoming header names; Fastify does this to header schemas only for its own compiler. */
function lowerCaseHeaderNames(schema: any) {
  return {
    ...schema,
    properties: Object.fromEntries(
      Object.entries(schema.properties ?? {}).map(([name, s]) => [name.toLowerCase(), s]),
    ),
    ...(schema.required && { required: schema.required.map((name: string) => name.toLowerCase()) }),
  };
}

const asArray = <T>(hooks: T | T[] | undefined): T[] =>
  hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks];

export async function buildApp({
  config,
  sql,
  devPublicKeyPem,
  logger = false,
  dispatcherSql = sql,
  replicas = [],
}: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger,
    genReqId: requestIdFor,
    // One access-log line per request comes from plugins/access-log.ts instead of Fastify's two.
    logController: new LogController({
      requestIdLogLabel: 'request_id',
      disableRequestLogging: true,
    }),
    bodyLimit: config.bodyLimit,
    return503OnClosing: true,
    // Errors of the router and of Node's HTTP parser are problem+json too (docs/standards.md §1).
    frameworkErrors,
    clientErrorHandler,
    // Behind a load balancer: the client's address (rate limits of unauthenticated requests, logs).
    trustProxy: config.trustProxy,
  });

  // Responses are serialized with JSON.stringify (domain/json.ts): a schema-compiled serializer
  // silently drops fields the schema doesn't list and costs seconds of start-up for ~400 response
  // schemas; the shape of every response is instead checked against the spec in tests
  // (response-validation).
  app.setSerializerCompiler(() => serialize);
  const bodyAjv = createAjv(false);
  const textAjv = createAjv(true);
  app.setValidatorCompiler(({ schema, httpPart }) =>
    httpPart === 'body'
      ? bodyAjv.compile(schema)
      : textAjv.compile(httpPart === 'headers' ? lowerCaseHeaderNames(schema) : schema),
  );

  await app.register(problems);
  await app.register(jsonBody);
  await app.register(gracefulClose);
  await app.register(requestId);
  await app.register(rateLimit, config.rateLimit);
  await app.register(auth, { auth: config.auth, fallbackPublicKeyPem: devPublicKeyPem });
  // Every route registered from here on, the plugins' own (/metrics, /docs) included, is rate
  // limited; operations of the spec also check tokens, scopes and what schemas cannot say.
  app.addHook('onRoute', (route: RouteOptions) => {
    route.onRequest = [...asArray(route.onRequest), app.limitRate, requireToken];
    route.preValidation = [...asArray(route.preValidation), requireScopes, checkInput];
  });
  await app.register(etag);
  await app.register(pagination, { sql });
  await app.register(itemIndex, { sql, listenSql: dispatcherSql ?? sql });
  await app.register(feedPosition, { sql, listenSql: dispatcherSql ?? sql });
  await app.register(metrics, { token: config.metricsToken });
  await app.register(accessLog);
  if (dispatcherSql) await app.register(webhooks, { sql: dispatcherSql, config: config.webhooks });
  await app.register(reservationSweeper, { sql, pollMs: config.reservationSweepMs });
  if (config.responseValidation) {
    await app.register(responseValidation, { ajv: createAjv(false) });
  }

  app.setNotFoundHandler({ preHandler: app.limitRate as any }, notFoundHandler);

  const writes = new WritePath({
    sql,
    postings: config.postings,
    metrics: app.metrics,
    log: app.log,
  });
  app.addHook('onReady', async () => writes.start());
  app.addHook('onClose', async () => writes.close());
  const readReplicas = replicas.length
    ? new ReadReplicas(replicas, {
        maxLagMs: config.databaseReplicaMaxLagMs,
        log: app.log,
        metrics: app.metrics,
      })
    : undefined;
  if (readReplicas) {
    app.addHook('onReady', async () => readReplicas.start());
    app.addHook('onClose', async () => readReplicas.stop());
  }
  const deps = {
    sql,
    config,
    pager: app.pager,
    itemIndex: app.itemIndex,
    feedPosition: app.feedPosition,
    writes,
    replicas: readReplicas,
  };
  await app.register(openapiGlue, {
    specification: spec,
    // Glue spreads what this returns into the route options (its type insists on method and url,
    // which glue itself supplies).
    operationResolver: ((operationId: string) => {
      const meta = operations.get(operationId);
      const handler = (handlers as Record<string, AnyHandler>)[operationId];
      if (!meta || !handler) throw new Error(`no handler for operation ${operationId}`);
      return {
        handler: operationHandler(meta, handler, deps),
        config: { operation: meta },
      };
    }) as any,
  });
  await app.register(docs, { publicUrl: config.publicUrl });
  return app;
}
