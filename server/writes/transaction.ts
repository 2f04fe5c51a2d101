// The transaction every write runs in: pipelined, so that BEGIN and COMMIT travel with the
// statements around them, and retried whole on serialization failure or deadlock.
import { retryOnConflict, type Db, type Sql } from '../../db/client.ts';

/**
 * fn failed after its COMMIT was acknowledged: its transaction's effects are durable, so the
 * caller must not run them again as if nothing had happened (its answers are stored under their
 * keys, for the clients' retries).
 */
export class FailedAfterCommit extends Error {
  constructor(cause: unknown) {
    super('the transaction committed, but what ran beside its COMMIT failed', { cause });
    this.name = 'FailedAfterCommit';
  }
}

/**
 * A transaction whose BEGIN and COMMIT cost no round trip of their own: BEGIN is sent with fn's
 * first statements, and fn sends COMMIT (calling `commit()`) right behind its last ones, without
 * waiting for their results in between; fn must therefore make every statement that could fail
 * fail in the database. PostgreSQL answers the COMMIT of a transaction that a statement aborted
 * with ROLLBACK, and `commit()` then rejects, so that a failure nobody awaited is never reported as
 * a commit. Retried like inTransaction on serialization failure or deadlock.
 */
export function inPipelinedTransaction<T>(
  sql: Sql,
  fn: (tx: Db, commit: () => Promise<void>) => Promise<T>,
  { retries = 5 }: { retries?: number } = {},
): Promise<T> {
  return retryOnConflict(async () => {
    const tx = await sql.reserve();
    let committed = false;
    try {
      tx.unsafe('BEGIN')
        .execute()
        .catch(() => {}); // its failure fails the statements behind it
      return await fn(tx, async () => {
        const { command } = await tx.unsafe('COMMIT').execute();
        if (command !== 'COMMIT')
          throw new Error(
            `COMMIT was answered with ${command}: a statement of the transaction failed`,
          );
        committed = true;
      });
    } catch (err) {
      if (committed) throw new FailedAfterCommit(err);
      await tx.unsafe('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      tx.release();
    }
  }, retries);
}
