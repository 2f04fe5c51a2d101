// The database that `npm start` and `npm run seed` work on: DATABASE_URL, or else the embedded
// PostgreSQL in <DATA_DIR>/pg (started here, or shared with the server process that runs it
// already), with every migration applied. Migrations run on DATABASE_DIRECT_URL when it is set:
// their advisory lock is a session's, which a transaction-pooling PgBouncer does not keep.
import { join } from 'node:path';
import { createSql } from '../db/client.ts';
import { migrate } from '../db/migrate.ts';
import { startEmbeddedPostgres } from '../db/embedded.ts';
import type { DatabaseSettings } from './config.ts';

export interface Database {
  /** For the request pool: DATABASE_URL (possibly through a pooler). */
  url: string;
  /** A direct connection, for session features (LISTEN, advisory locks): DATABASE_DIRECT_URL, else `url`. */
  directUrl: string;
  /** Where the embedded cluster lives, or null with DATABASE_URL. */
  embeddedDir: string | null;
  /** Migrations applied by this call. */
  applied: string[];
  /** Stops the embedded cluster if this process started it. */
  stop(): Promise<void>;
}

/** DATABASE_URL (or else DATABASE_DIRECT_URL), or else the embedded cluster, started. */
async function locate(config: DatabaseSettings) {
  const configured = config.databaseUrl ?? config.databaseDirectUrl;
  if (configured) return { url: configured, embeddedDir: null, embedded: null };
  const embeddedDir = join(config.dataDir, 'pg');
  const embedded = await startEmbeddedPostgres({
    dataDir: embeddedDir,
    persistent: true,
    wellKnownPort: true,
    // Ctrl-C signals the terminal's whole group; the server stops its database itself, last.
    ownProcessGroup: true,
  });
  return { url: embedded.url, embeddedDir, embedded };
}

export async function openDatabase(config: DatabaseSettings): Promise<Database> {
  const { url, embeddedDir, embedded } = await locate(config);
  const directUrl = config.databaseDirectUrl ?? url;
  // One connection: the migration runner holds a session-level advisory lock on it.
  const migrationSql = createSql(directUrl, { max: 1, application: 'inventory-api-migrate' });
  try {
    const applied = await migrate(migrationSql);
    return {
      url,
      directUrl,
      embeddedDir,
      applied,
      stop: async () => {
        await embedded?.stop();
      },
    };
  } catch (err) {
    await embedded?.stop();
    throw err;
  } finally {
    await migrationSql.end();
  }
}
