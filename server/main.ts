// `npm start`: migrate the database (embedded PostgreSQL in .data/ unless DATABASE_URL is set),
// then serve. SIGTERM/SIGINT close gracefully: stop accepting, finish in-flight requests, close pools.
import { join } from 'node:path';
import { buildApp } from './app.ts';
import { loadConfig, DEV_AUDIENCE, DEV_ISSUER } from './config.ts';
import { devPublicKeyPem } from './dev-keys.ts';
import { createSql } from '../db/client.ts';
import { migrate } from '../db/migrate.ts';
import { startEmbeddedPostgres } from '../db/embedded.ts';

const config = loadConfig();
const embedded = config.databaseUrl ? null : await startEmbeddedPostgres({ dataDir: join(config.dataDir, 'pg'), persistent: true });
const databaseUrl = config.databaseUrl ?? embedded!.url;

const migrationSql = createSql(databaseUrl, { max: 1, application: 'inventory-api-migrate' });
const applied = await migrate(migrationSql);
await migrationSql.end();

const sql = createSql(databaseUrl, { max: Number(process.env.DATABASE_POOL_SIZE ?? 20) });
const app = await buildApp({
  config,
  sql,
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
  await embedded?.stop();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

await app.listen({ port: config.port, host: config.host });
const address = app.server.address();
const base = `http://${config.host}:${typeof address === 'object' && address ? address.port : config.port}`;
const banner = [
  `Inventory & Procurement API listening on ${base}`,
  `  database: ${embedded ? `embedded PostgreSQL (${join(config.dataDir, 'pg')})` : 'DATABASE_URL'}${applied.length ? `, applied ${applied.join(', ')}` : ''}`,
  `  reference: ${base}/docs   spec: ${base}/openapi.json`,
];
if (config.auth.dev) {
  banner.push(`  dev auth (iss ${DEV_ISSUER}, aud ${DEV_AUDIENCE}): get a token with`,
    '    npm run token -- --scope "inventory:read inventory:write procurement:write webhooks:manage"');
}
// One write, so whoever reads the first line reads it all.
console.log(banner.join('\n'));
