// An HTTP proxy in front of a test server that answers chosen requests itself, with a status the
// server gives under load (503 overloaded, 429 quota-exceeded), before forwarding the rest. It
// keeps every request it saw, so a test can check what a client retried and with which headers.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { Test } from 'tap';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** What the proxy did: the injected status, or 'forwarded'. */
  answer: number | 'forwarded';
}

export interface Fault {
  status: 429 | 503;
  retryAfter?: string;
}

const problems = {
  429: {
    type: 'https://iana.org/assignments/http-problem-types#quota-exceeded',
    title: 'Too many requests',
  },
  503: { type: 'https://problems.inventory-api.dev/overloaded', title: 'Server overloaded' },
};

/**
 * A proxy to `target`. While `faults` is not empty, each request `applies` accepts gets the next
 * fault as its answer (problem+json with Retry-After) instead of reaching the server.
 */
export async function faultProxy(
  t: Test,
  target: string,
  applies: (method: string, url: string) => boolean = (method) => method === 'POST',
) {
  const state = { url: '', faults: [] as Fault[], seen: [] as SeenRequest[] };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const method = req.method ?? 'GET';
      const url = req.url ?? '/';
      const seen: SeenRequest = { method, url, headers: req.headers, answer: 'forwarded' };
      state.seen.push(seen);
      const fault = applies(method, url) ? state.faults.shift() : undefined;
      if (fault) {
        seen.answer = fault.status;
        res
          .writeHead(fault.status, {
            'content-type': 'application/problem+json',
            'retry-after': fault.retryAfter ?? '0',
          })
          .end(
            JSON.stringify({
              ...problems[fault.status],
              status: fault.status,
              detail: 'Injected by test/helpers/http-faults.ts.',
              instance: url.split('?')[0],
              request_id: 'fault-proxy',
            }),
          );
        return;
      }
      try {
        const headers = new Headers();
        for (const [name, value] of Object.entries(req.headers))
          if (!['host', 'connection', 'content-length'].includes(name) && value !== undefined)
            headers.set(name, Array.isArray(value) ? value.join(', ') : value);
        const upstream = await fetch(target + url, {
          method,
          headers,
          body: chunks.length ? Buffer.concat(chunks) : undefined,
        });
        const body = Buffer.from(await upstream.arrayBuffer());
        const out: Record<string, string> = {};
        upstream.headers.forEach((value, name) => {
          if (
            !['content-encoding', 'content-length', 'transfer-encoding', 'connection'].includes(
              name,
            )
          )
            out[name] = value;
        });
        res.writeHead(upstream.status, out).end(body);
      } catch (error) {
        res.writeHead(502).end(String(error));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return state;
}
