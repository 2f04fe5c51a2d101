// `npm start`: migrate the database (embedded PostgreSQL in .data/ unless DATABASE_URL is set),
// then serve. SIGTERM/SIGINT close gracefully: stop accepting, finish in-flight requests, close pools.
import { buildApp } from './app.ts';
import { loadConfig, DEV_AUDIENCE, DEV_ISSUER } from './config.ts';
import { openDatabase } from './database.ts';
import { devPublicKeyPem } from './dev-keys.ts';
import { createSql } from '../db/client.ts';

const config = loadConfig();
const database = await openDatabase(config);
const { applied } = database;

const sql = createSql(database.url, { max: Number(process.env.DATABASE_POOL_SIZE ?? 20) });
// The webhook dispatcher LISTENs, which needs a session of its own: with DATABASE_DIRECT_URL it
// bypasses a transaction-pooling PgBouncer (docs/deploy.md).
const dispatcherSql = database.directUrl === database.url ? sql : createSql(database.directUrl, { max: 2, application: 'inventory-api-webhooks' });
const app = await buildApp({
  config,
  sql,
  dispatcherSql,
  devPublicKeyPem: config.auth.dev ? devPublicKeyPem(config.dataDir) : undefined,
  logger: { level: config.logLevel },
});

let closing = false;
async function shutdown(signal: string) {
  if (closing) return;
  closing = true;
  app.log.info({ signal }, 'shutting down');
  await app.close();
  await sql.end({ timeout: 5 });
  if (dispatcherSql !== sql) await dispatcherSql.end({ timeout: 5 });
  await database.stop();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

await app.listen({ port: config.port, host: config.host });
const address = app.server.address();
const base = `http://${config.host}:${typeof address === 'object' && address ? address.port : config.port}`;
const banner = [
  `Inventory & Procurement API listening on ${base}`,
  `  database: ${database.embeddedDir ? `embedded PostgreSQL (${database.embeddedDir})` : 'DATABASE_URL'}${applied.length ? `, applied ${applied.join(', ')}` : ''}`,
  `  reference: ${base}/docs   spec: ${base}/openapi.json`,
];
if (config.auth.dev) {
  banner.push(`  dev auth (iss ${DEV_ISSUER}, aud ${DEV_AUDIENCE}): get a token with`,
    '    npm run token -- --scope "inventory:read inventory:write procurement:write webhooks:manage"');
}
// One write, so whoever reads the first line reads it all.
console.log(banner.join('\n'));
