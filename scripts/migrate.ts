// Usage: npm run migrate   (migrates DATABASE_DIRECT_URL or DATABASE_URL; without them, the embedded
// dev database in .data/pg). Behind PgBouncer, the direct URL: the runner holds a session's advisory lock.
import { createSql } from '../db/client.ts';
import { migrate } from '../db/migrate.ts';
import { startEmbeddedPostgres, DEFAULT_DATA_DIR } from '../db/embedded.ts';

const configured = process.env.DATABASE_DIRECT_URL || process.env.DATABASE_URL;
const embedded = configured
  ? undefined
  : await startEmbeddedPostgres({ dataDir: DEFAULT_DATA_DIR, persistent: true, wellKnownPort: true });
const sql = createSql(configured ?? embedded!.url, { max: 1, application: 'inventory-migrate' });
let code = 0;
try {
  const applied = await migrate(sql);
  console.log(applied.length ? applied.map((n) => `applied ${n}`).join('\n') : 'nothing to apply');
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  code = 1;
} finally {
  await sql.end();
  await embedded?.stop();
}
process.exit(code);
