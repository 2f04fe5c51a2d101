// A throwaway redis-server (Debian's) on a free loopback port, for the shared rate-limit store.
import { spawn } from 'node:child_process';
import type { Test } from 'tap';
import { freePort } from '../../db/embedded.ts';

/** The redis:// URL of a fresh server, or null when redis-server is not installed. */
export async function startRedis(t: Test): Promise<string | null> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const started = await new Promise<boolean>((resolve) => {
    child.once('error', () => resolve(false));
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('Ready to accept connections')) resolve(true);
    });
    child.once('exit', () => resolve(false));
  });
  if (!started) return null;
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  return `redis://127.0.0.1:${port}`;
}
