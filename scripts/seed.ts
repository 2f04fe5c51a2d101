// `npm run seed`: fills the database that `npm start` uses (DATABASE_URL, or the embedded one in
// .data/) with the demo catalogue of scripts/lib/demo-data.ts. Safe to run again: it only adds
// what is missing. It needs no running server and no token: it runs the API in this process, on a
// loopback port, trusting only a key made for this run, so it works whatever AUTH_* says (the
// audit log names `demo-seed` as the actor). It runs no webhook dispatcher: the events of its
// postings wait in the outbox for the servers to deliver.
import { generateKeyPairSync } from 'node:crypto';
import { createSigner } from 'fast-jwt';
import { buildApp } from '../server/app.ts';
import { loadConfig } from '../server/config.ts';
import { openDatabase } from '../server/database.ts';
import { createSql } from '../db/client.ts';
import { createApiClient } from '../generated/client.ts';
import { seedDemoData } from './lib/demo-data.ts';

const SEED_ISSUER = 'inventory-api-demo-seed';
const config = loadConfig();
const database = await openDatabase(config);
const sql = createSql(database.url, { max: 4, application: 'inventory-api-seed' });
const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const app = await buildApp({
  config: {
    ...config,
    auth: {
      issuer: SEED_ISSUER,
      audience: SEED_ISSUER,
      publicKeyPem: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      dev: false,
    },
    // This process is the only client of its server: no quota, nothing shared through Redis.
    rateLimit: { max: 1_000_000, windowS: 60 },
    // The demo orders are sent by the seed's one subject, who may not approve its own orders: a
    // deployment's PO_APPROVAL_THRESHOLDS governs its clients, not the demo data seeded into it.
    poApprovalThresholds: {},
  },
  sql,
  dispatcherSql: null,
});

let code = 0;
try {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  const sign = createSigner({
    key: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    algorithm: 'ES256',
    iss: SEED_ISSUER,
    aud: SEED_ISSUER,
    expiresIn: 600_000,
  });
  const token = sign({
    sub: 'demo-seed',
    scope: 'inventory:read inventory:write procurement:write',
  });
  const report = await seedDemoData(
    createApiClient({ baseUrl: `http://127.0.0.1:${port}`, token }),
  );
  console.log(
    `demo data in ${database.embeddedDir ? `the embedded PostgreSQL (${database.embeddedDir})` : 'DATABASE_URL'}:`,
  );
  for (const [kind, { created, present }] of Object.entries(report))
    console.log(`  ${kind}: ${created} created, ${present} already there`);
} catch (err) {
  console.error(`seeding failed: ${err instanceof Error ? err.message : err}`);
  code = 1;
} finally {
  await app.close();
  await sql.end({ timeout: 5 });
  await database.stop();
}
process.exit(code);
