// The real server as a child process (see scripts/lib/spawn-server.ts), trusting the test keys,
// killed when the test ends.
import type { Test } from 'tap';
import { spawnServerProcess, type ServerProcess } from '../../scripts/lib/spawn-server.ts';
import { testKeys, TEST_AUDIENCE, TEST_ISSUER } from './auth.ts';

export type { ServerProcess };

export async function spawnServer(
  t: Test,
  databaseUrl: string,
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  const server = await spawnServerProcess({
    DATABASE_URL: databaseUrl,
    AUTH_ISSUER: TEST_ISSUER,
    AUTH_AUDIENCE: TEST_AUDIENCE,
    AUTH_PUBLIC_KEY: testKeys.publicKeyPem,
    WEBHOOK_ALLOW_PRIVATE: '1',
    LOG_LEVEL: 'warn',
    ...env,
  });
  t.teardown(() => server.stop('SIGKILL'));
  return server;
}
