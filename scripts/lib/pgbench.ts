// Where pgbench is: Debian's newest server version first (/usr/lib/postgresql/<v>/bin), else PATH.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const PGBENCH_HINT = 'pgbench not found (Debian: apt-get install postgresql)';

export function findPgbench(): string | null {
  let versions: string[] = [];
  try {
    versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
  } catch {
    /* none */
  }
  const candidates = [
    ...versions.map((v) => `/usr/lib/postgresql/${v}/bin/pgbench`),
    ...(process.env.PATH ?? '')
      .split(':')
      .filter(Boolean)
      .map((dir) => join(dir, 'pgbench')),
  ];
  return candidates.find((path) => existsSync(path)) ?? null;
}
