// Starts the real server (buildApp) on a loopback port against a fresh database, with response
// validation on, so every response a test provokes is checked against the spec.
import type { Test } from 'tap';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../server/app.ts';
import { loadConfig, type Config } from '../../server/config.ts';
import { createSql, type Sql } from '../../db/client.ts';
import { createApiClient, type ApiClient } from '../../generated/client.ts';
import { freshDatabase } from './db.ts';
import { mintToken, testKeys, TEST_AUDIENCE, TEST_ISSUER, type TokenOptions } from './auth.ts';

export interface TestServer {
  url: string;
  app: FastifyInstance;
  /** A pool on the server's database, for assertions. */
  sql: Sql;
  /** The pool the server itself uses (end it to simulate the database going away). */
  serverSql: Sql;
  databaseUrl: string;
  config: Config;
  /** An SDK client authenticated with a token of these options (all scopes by default). */
  client(token?: TokenOptions): ApiClient;
  token(token?: TokenOptions): string;
  /** fetch against the server, with a bearer token unless `token: null`. */
  request(
    path: string,
    init?: RequestInit & { token?: TokenOptions | null; json?: unknown },
  ): Promise<Response>;
}

export interface ServerOptions {
  env?: Record<string, string>;
  /** Serve this database (e.g. a second instance of another test server's) instead of a fresh one. */
  databaseUrl?: string;
  /** Runs before the server starts listening (e.g. to add a test-only route). */
  beforeListen?: (app: FastifyInstance) => void | Promise<void>;
  /** Where the webhook dispatcher and the LISTEN sessions connect (buildApp's dispatcherSql), if not to the server's pool (e.g. a proxy). */
  listenUrl?: string;
}

export async function startServer(t: Test, options: ServerOptions = {}): Promise<TestServer> {
  const { url: databaseUrl, sql } = options.databaseUrl
    ? { url: options.databaseUrl, sql: createSql(options.databaseUrl, { max: 2 }) }
    : await freshDatabase(t);
  if (options.databaseUrl) t.teardown(() => sql.end({ timeout: 5 }));
  const config = loadConfig({
    AUTH_ISSUER: TEST_ISSUER,
    AUTH_AUDIENCE: TEST_AUDIENCE,
    AUTH_PUBLIC_KEY: testKeys.publicKeyPem,
    RESPONSE_VALIDATION: '1',
    WEBHOOK_ALLOW_PRIVATE: '1',
    RATE_LIMIT_MAX: '100000',
    ...options.env,
    DATABASE_URL: databaseUrl,
  });
  const serverSql = createSql(databaseUrl, { max: 20, application: 'inventory-api-test' });
  const listenSql = options.listenUrl
    ? createSql(options.listenUrl, { max: 2, application: 'inventory-api-test' })
    : serverSql;
  const app = await buildApp({
    config,
    sql: serverSql,
    dispatcherSql: listenSql,
    logger: process.env.TEST_LOG ? { level: process.env.TEST_LOG } : false,
  });
  await options.beforeListen?.(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  t.teardown(async () => {
    const violations = app.responseViolations ?? [];
    await app.close();
    await serverSql.end({ timeout: 5 });
    if (listenSql !== serverSql) await listenSql.end({ timeout: 5 });
    // Every response of the test was checked against the spec (server/plugins/response-validation.ts).
    if (violations.length)
      throw new Error(`responses that do not match the spec:\n${violations.join('\n')}`);
  });

  const token = (o?: TokenOptions) => mintToken(o);
  return {
    url,
    app,
    sql,
    serverSql,
    databaseUrl,
    config,
    token,
    client: (o?: TokenOptions) => createApiClient({ baseUrl: url, token: token(o) }),
    request: (path, init = {}) => {
      const { token: tokenOptions, json, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (tokenOptions !== null) headers.set('authorization', `Bearer ${token(tokenOptions)}`);
      if (json !== undefined) headers.set('content-type', 'application/json');
      return fetch(url + path, {
        ...rest,
        headers,
        body: json !== undefined ? JSON.stringify(json) : rest.body,
      });
    },
  };
}
