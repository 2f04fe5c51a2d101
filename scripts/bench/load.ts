// HTTP load as the bench sends it, for a measurement and for a scenario's preparation alike:
// autocannon, every request signed and with a fresh Idempotency-Key (a repeated key would be
// answered from the stored response, not executed).
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';

/** One request's path (the scenario's own when absent) and JSON body. */
export type MakeRequest = () => { path?: string; body?: unknown };

export interface Load {
  url: string;
  token: string;
  connections: number;
  method: 'GET' | 'POST';
  path: string;
  make: MakeRequest;
  /** Seconds to run; or `amount`: that many requests, however long they take. */
  duration?: number;
  amount?: number;
}

/**
 * Starts the load. Without a callback autocannon returns its tracker, an EventEmitter that is
 * also thenable (its typings say Promise).
 */
export function load(o: Load) {
  return autocannon({
    url: o.url,
    connections: o.connections,
    ...(o.amount === undefined ? { duration: o.duration } : { amount: o.amount }),
    requests: [
      {
        method: o.method,
        path: o.path,
        headers: { authorization: `Bearer ${o.token}`, 'content-type': 'application/json' },
        setupRequest: (request: any) => {
          const { path, body } = o.make();
          request.path = path ?? o.path;
          if (body !== undefined) request.body = JSON.stringify(body);
          request.headers = { ...request.headers, 'idempotency-key': randomUUID() };
          return request;
        },
      },
    ],
  }) as unknown as Promise<autocannon.Result> & NodeJS.EventEmitter;
}
