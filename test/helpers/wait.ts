// Waiting for something that happens asynchronously (a delivery, a log line, an index catching up).

import type { Sql } from '../../db/client.ts';

type Falsy = false | null | undefined | 0 | '';

/** Polls `check` until it returns a truthy value (returned) or `timeoutMs` passes (throws with `what`). */
export async function waitFor<T>(
  what: string,
  check: () => T | Falsy | Promise<T | Falsy>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as T;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Waits until every event committed so far is dispatched (in the feed, with its position): positions
 * are written after commit, so a test comparing database states waits for them first.
 */
export async function eventsDispatched(sql: Sql): Promise<void> {
  await waitFor('every event dispatched', async () => {
    const [{ n }] = await sql`SELECT count(*)::int AS n FROM outbox WHERE dispatched_at IS NULL`;
    return n === 0;
  });
}
