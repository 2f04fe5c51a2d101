// A loopback TCP proxy in front of a database, for the faults a real PostgreSQL can't be made to
// show on cue (a connection cut in the middle of a query, a database refusing connections).
import { createConnection, createServer, type Socket } from 'node:net';
import type { Test } from 'tap';

/**
 * A proxy to the database of `url` (connect to `state.url`). `onClientData` sees what the driver
 * sends; it returns false after dealing with the connection itself. While `refusing`, new
 * connections are reset at once (a database that is down).
 */
export async function proxyTo(
  t: Test,
  url: string,
  onClientData: (chunk: Buffer, client: Socket) => boolean = () => true,
) {
  const target = new URL(url);
  const sockets = new Set<Socket>();
  const state = { refusing: false, url: '' };
  const proxy = createServer((client) => {
    if (state.refusing) return client.resetAndDestroy();
    const server = createConnection(Number(target.port), target.hostname);
    sockets.add(client).add(server);
    client.on('error', () => {}).on('close', () => server.destroy());
    server.on('error', () => {}).on('close', () => client.destroy());
    server.pipe(client);
    client.on('data', (chunk: Buffer) => onClientData(chunk, client) && server.write(chunk));
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => proxy.close(resolve));
  });
  const proxied = new URL(url);
  proxied.port = String((proxy.address() as { port: number }).port);
  state.url = proxied.toString();
  return state;
}
