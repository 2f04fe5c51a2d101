// A throwaway PgBouncer (Debian's `pgbouncer`) in transaction pooling mode in front of a test
// database, as docs/deploy.md describes a deployment: clients' transactions share few server
// connections, and session state (prepared statements, LISTEN, advisory locks) does not survive
// from one transaction to the next.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { freePort } from '../../db/embedded.ts';

/** The URL of `databaseUrl`'s database through a new PgBouncer, or null when pgbouncer is not installed. */
export async function startPgBouncer(t: Test, databaseUrl: string): Promise<string | null> {
  const target = new URL(databaseUrl);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'pgbouncer-'));
  // PgBouncer refuses to run as root; as root it drops to `nobody`, who must read the config.
  chmodSync(dir, 0o755);
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      // Any database name, passed through; the server login is the test's own.
      `* = host=${target.hostname} port=${target.port} user=${decodeURIComponent(target.username)} password=${decodeURIComponent(target.password)}`,
      '[pgbouncer]',
      `listen_addr = 127.0.0.1`,
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = any',
      'pool_mode = transaction',
      'max_client_conn = 500',
      'default_pool_size = 8',
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  const asRoot = process.getuid?.() === 0;
  // Debian installs it in /usr/sbin, which is not on every user's PATH.
  const binary = existsSync('/usr/sbin/pgbouncer') ? '/usr/sbin/pgbouncer' : 'pgbouncer';
  const child = spawn(binary, [...(asRoot ? ['-u', 'nobody'] : []), join(dir, 'pgbouncer.ini')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const started = await new Promise<boolean>((resolve) => {
    child.once('error', () => resolve(false));
    const watch = (d: Buffer) => {
      log += d;
      if (log.includes('process up')) resolve(true);
    };
    child.stdout!.on('data', watch);
    child.stderr!.on('data', watch);
    child.once('exit', () => resolve(false));
  });
  t.teardown(() => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  if (!started) {
    if (log) throw new Error(`pgbouncer did not start:\n${log}`);
    return null;
  }
  const through = new URL(databaseUrl);
  through.port = String(port);
  return through.toString();
}
