// The database that `npm start` and `npm run seed` work on: DATABASE_URL, or else the embedded
// PostgreSQL in <DATA_DIR>/pg (started here, or shared with the server process that runs it
// already), with every migration applied.
import { join } from 'node:path';
import { createSql } from '../db/client.ts';
import { migrate } from '../db/migrate.ts';
import { startEmbeddedPostgres } from '../db/embedded.ts';

export interface Database {
  url: string;
  /** Where the embedded cluster lives, or null with DATABASE_URL. */
  embeddedDir: string | null;
  /** Migrations applied by this call. */
  applied: string[];
  /** Stops the embedded cluster if this process started it. */
  stop(): Promise<void>;
}

export async function openDatabase({ databaseUrl, dataDir }: { databaseUrl?: string; dataDir: string }): Promise<Database> {
  const embeddedDir = databaseUrl ? null : join(dataDir, 'pg');
  const embedded = embeddedDir ? await startEmbeddedPostgres({ dataDir: embeddedDir, persistent: true }) : null;
  const url = databaseUrl ?? embedded!.url;
  // One connection: the migration runner holds a session-level advisory lock on it.
  const migrationSql = createSql(url, { max: 1, application: 'inventory-api-migrate' });
  try {
    const applied = await migrate(migrationSql);
    return { url, embeddedDir, applied, stop: async () => { await embedded?.stop(); } };
  } catch (err) {
    await embedded?.stop();
    throw err;
  } finally {
    await migrationSql.end();
  }
}
