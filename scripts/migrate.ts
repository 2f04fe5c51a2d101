// Usage: npm run migrate   (migrates DATABASE_URL; without it, the embedded dev database in .data/pg)
import { createSql } from '../db/client.ts';
import { migrate } from '../db/migrate.ts';
import { startEmbeddedPostgres, DEFAULT_DATA_DIR } from '../db/embedded.ts';

const embedded = process.env.DATABASE_URL
  ? undefined
  : await startEmbeddedPostgres({ dataDir: DEFAULT_DATA_DIR, persistent: true, wellKnownPort: true });
const sql = createSql(process.env.DATABASE_URL ?? embedded!.url, { max: 1, application: 'inventory-migrate' });
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
