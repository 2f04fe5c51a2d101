// A load generator for the chaos suites: many clients posting stock moves, receipts and reservations with
// Idempotency-Keys against a server that may die, restart or lose its database at any moment.
// Like a well-behaved integration, a client retries a request with the SAME key and body after a
// network error, a 5xx or a 409 idempotency-in-progress, until it gets a definitive answer.
import { randomUUID } from 'node:crypto';
import type { ChaosCatalogue } from './seed.ts';

export interface Attempted {
  key: string;
  operation: 'move' | 'receipt' | 'reservation';
  path: string;
  body: unknown;
  /** The definitive status, or null if the request never got one before the load ended. */
  status: number | null;
  /** The id of what a 2xx created. */
  id?: string;
}

export interface LoadStats {
  attempts: number;
  networkErrors: number;
  serverErrors: Record<number, number>;
  retried: number;
  acknowledged: number;
  refused: number;
}

export interface LoadOptions extends ChaosCatalogue {
  /** The base URL to use for the next attempt (it changes when a server restarts on another port). */
  target: (attempt: number) => string;
  token: string;
  clients: number;
  /** Resolves when the load should end. */
  until: Promise<unknown>;
}

const pick = <T>(list: readonly T[]) => list[Math.floor(Math.random() * list.length)];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function nextRequest(o: LoadOptions): Omit<Attempted, 'status' | 'key'> {
  const item = pick(o.items);
  const [from, to] = [...o.warehouses].sort(() => Math.random() - 0.5);
  const roll = Math.random();
  if (roll < 0.15) {
    return {
      operation: 'reservation',
      path: '/inventory/reservations',
      body: {
        item_id: item,
        warehouse_id: from,
        qty: 1,
        expires_at: new Date(Date.now() + 3_000).toISOString(),
      },
    };
  }
  if (roll < 0.25) {
    const { po_id, po_line_id } = pick(o.poLines);
    return {
      operation: 'receipt',
      path: '/procurement/receipts',
      body: {
        po_id,
        warehouse_id: to,
        lines: [{ po_line_id, qty_received: 1 + Math.floor(Math.random() * 3) }],
      },
    };
  }
  const body =
    roll < 0.6
      ? {
          type: 'TRANSFER',
          from_wh: from,
          to_wh: to,
          lines: [{ item_id: item, qty: 1 + Math.floor(Math.random() * 3) }],
        }
      : roll < 0.85
        ? {
            type: 'ISSUE',
            from_wh: from,
            lines: [{ item_id: item, qty: 1 + Math.floor(Math.random() * 2) }],
          }
        : { type: 'RECEIPT', to_wh: to, lines: [{ item_id: item, qty: 5 }] };
  return { operation: 'move', path: '/inventory/stock-moves', body };
}

export async function runLoad(
  o: LoadOptions,
): Promise<{ attempted: Attempted[]; stats: LoadStats }> {
  const attempted: Attempted[] = [];
  const stats: LoadStats = {
    attempts: 0,
    networkErrors: 0,
    serverErrors: {},
    retried: 0,
    acknowledged: 0,
    refused: 0,
  };
  let ended = false;
  let endedAt = Infinity;
  void o.until
    .finally(() => {
      ended = true;
      endedAt = Date.now();
    })
    .catch(() => {});

  /** Sends until a definitive answer, or gives up (status null) well after the load's end. */
  async function settle(request: Attempted) {
    for (let attempt = 0; Date.now() < endedAt + 30_000; attempt++) {
      // Exponential backoff with jitter, as a polite client would (50 ms doubling up to 1 s).
      if (attempt > 0) {
        stats.retried++;
        await sleep(Math.min(1000, 50 * 2 ** (attempt - 1)) * (0.5 + Math.random()));
      }
      stats.attempts++;
      let res: Response;
      try {
        res = await fetch(o.target(stats.attempts) + request.path, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${o.token}`,
            'content-type': 'application/json',
            'idempotency-key': request.key,
          },
          body: JSON.stringify(request.body),
          signal: AbortSignal.timeout(10_000),
        });
      } catch {
        stats.networkErrors++;
        continue;
      }
      const body = await res.json().catch(() => ({}));
      if (res.status >= 500 || body.type?.endsWith('/idempotency-in-progress')) {
        stats.serverErrors[res.status] = (stats.serverErrors[res.status] ?? 0) + 1;
        continue;
      }
      request.status = res.status;
      if (res.ok) {
        request.id = body.id;
        stats.acknowledged++;
      } else stats.refused++;
      return;
    }
  }

  await Promise.all(
    Array.from({ length: o.clients }, async () => {
      while (!ended) {
        const request: Attempted = { key: randomUUID(), status: null, ...nextRequest(o) };
        attempted.push(request);
        await settle(request);
      }
    }),
  );
  return { attempted, stats };
}
