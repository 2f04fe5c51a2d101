// `npm start`: migrate the database (embedded PostgreSQL in .data/ unless DATABASE_URL is set),
// then serve. SIGTERM/SIGINT close gracefully: stop accepting, finish in-flight requests, close pools.
// WORKERS=N (default 1) serves from N processes sharing the port (node:cluster): one Node process
// uses one core, and the server keeps no state of its own (PostgreSQL does), so workers are
// independent instances exactly like several servers behind a load balancer.
import cluster from 'node:cluster';
import v8 from 'node:v8';
import { buildApp } from './app.ts';
import { loadConfig, DEV_AUDIENCE, DEV_ISSUER, type Config } from './config.ts';
import { openDatabase, type Database } from './database.ts';
import { devPublicKeyPem } from './dev-keys.ts';
import { createSql } from '../db/client.ts';
import { must } from '../domain/must.ts';

// V8 lets the old generation grow to ~2x the live heap before collecting it; under load the
// promoted garbage of requests in flight then holds 100+ MB of RSS. Growing by half instead kept
// peak RSS ~100 MB lower at the same throughput (docs/decisions/0008).
v8.setFlagsFromString('--heap-growing-percent=50');
// V8 learns to allocate the objects of code whose objects often survive (query parameters, request
// state) directly in the old generation. They die young all the same, and until the next major
// collection they keep alive every young object they point to: with it the server promoted about
// twice as much per posting and made twice as many major collections (docs/decisions/0009).
v8.setFlagsFromString('--no-allocation-site-pretenuring');

const config = loadConfig();

/** Serves until SIGTERM/SIGINT; resolves with the port it listens on. */
async function serve(
  { url, directUrl }: Pick<Database, 'url' | 'directUrl'>,
  onClosed: () => Promise<void>,
): Promise<number> {
  const poolSize = Number(process.env.DATABASE_POOL_SIZE ?? 20);
  const sql = createSql(url, { max: poolSize });
  // Lists may be read on these (server/replicas.ts); each gets a pool as large as the primary's.
  const replicas = config.databaseReplicaUrls.map((replicaUrl) => ({
    name: hostOf(replicaUrl),
    sql: createSql(replicaUrl, { max: poolSize, application: 'inventory-api-replica' }),
    probeSql: createSql(replicaUrl, { max: 1, application: 'inventory-api-replica-probe' }),
  }));
  // The webhook dispatcher LISTENs, which needs a session of its own: with DATABASE_DIRECT_URL it
  // bypasses a transaction-pooling PgBouncer (docs/deploy.md).
  const dispatcherSql =
    directUrl === url
      ? sql
      : createSql(directUrl, { max: 2, application: 'inventory-api-webhooks' });
  const app = await buildApp({
    config,
    sql,
    dispatcherSql,
    replicas,
    devPublicKeyPem: config.auth.dev ? devPublicKeyPem(config.dataDir) : undefined,
    logger: { level: config.logLevel },
  });
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    await app.close();
    await sql.end({ timeout: 5 });
    if (dispatcherSql !== sql) await dispatcherSql.end({ timeout: 5 });
    await Promise.all(
      replicas.flatMap((r) => [r.sql.end({ timeout: 5 }), r.probeSql.end({ timeout: 1 })]),
    );
    await onClosed();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  await app.listen({ port: config.port, host: config.host });
  const address = app.server.address();
  return typeof address === 'object' && address ? address.port : config.port;
}

/** host:port of a URL, for naming a replica in logs and metrics. */
function hostOf(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || 5432}`;
}

function printBanner(c: Config, port: number, database: string, workers: number) {
  const base = `http://${c.host}:${port}`;
  const banner = [
    `Inventory & Procurement API listening on ${base}${workers > 1 ? ` (${workers} workers)` : ''}`,
    `  database: ${database}`,
    ...(c.databaseReplicaUrls.length
      ? [`  lists also read on: ${c.databaseReplicaUrls.map(hostOf).join(', ')}`]
      : []),
    `  reference: ${base}/docs   spec: ${base}/openapi.json`,
  ];
  if (c.auth.dev) {
    banner.push(
      `  dev auth (iss ${DEV_ISSUER}, aud ${DEV_AUDIENCE}): get a token with`,
      '    npm run -s token -- --scope "inventory:read inventory:write procurement:write procurement:approve webhooks:manage"',
    );
  }
  // One write, so whoever reads the first line reads it all.
  console.log(banner.join('\n'));
}

if (cluster.isWorker) {
  // The primary forks every worker with both URLs in its environment (below).
  const port = await serve(
    {
      url: must(process.env.DATABASE_URL, 'DATABASE_URL from the primary'),
      directUrl: must(process.env.DATABASE_DIRECT_URL, 'DATABASE_DIRECT_URL from the primary'),
    },
    async () => {},
  );
  // In a worker, cluster.worker is set, and its send() is process.send() (to the primary).
  must(cluster.worker, 'cluster.worker in a worker').send({ listening: port });
} else {
  const database = await openDatabase(config);
  const described = `${database.embeddedDir ? `embedded PostgreSQL (${database.embeddedDir})` : 'DATABASE_URL'}${database.applied.length ? `, applied ${database.applied.join(', ')}` : ''}`;

  if (config.workers === 1) {
    printBanner(config, await serve(database, () => database.stop()), described, 1);
  } else {
    // Workers share the port; a signal is passed on to them, and the embedded database stops after the last.
    const workers = Array.from({ length: config.workers }, () =>
      cluster.fork({ DATABASE_URL: database.url, DATABASE_DIRECT_URL: database.directUrl }),
    );
    const ports = await Promise.all(
      workers.map(
        (w) =>
          new Promise<number>((resolve) =>
            w.on('message', (m) => m?.listening && resolve(m.listening)),
          ),
      ),
    );
    printBanner(config, ports[0], described, workers.length);
    let exited = 0;
    for (const w of workers) {
      w.on('exit', async () => {
        if (++exited < workers.length) return;
        await database.stop();
        process.exit(0);
      });
    }
    for (const signal of ['SIGTERM', 'SIGINT'] as const)
      process.on(signal, () => {
        for (const w of workers) w.process.kill(signal);
      });
  }
}
