// Usage: npm run migrate   (migrates DATABASE_DIRECT_URL or DATABASE_URL; without them, the embedded
// dev database in <DATA_DIR>/pg, as `npm start` would). Behind PgBouncer, the direct URL: the runner
// holds a session's advisory lock.
import { loadDatabaseSettings } from '../server/config.ts';
import { openDatabase } from '../server/database.ts';

try {
  const db = await openDatabase(loadDatabaseSettings());
  console.log(
    db.applied.length ? db.applied.map((n) => `applied ${n}`).join('\n') : 'nothing to apply',
  );
  await db.stop();
  process.exit(0);
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
