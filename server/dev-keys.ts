// The local development signing key: used when no AUTH_* variable is set. The server verifies
// with its public half; `npm run token` signs with it. Never used in production (config refuses).
import { generateKeyPairSync, createPrivateKey, createPublicKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function devPrivateKeyPem(dataDir: string): string {
  const file = join(dataDir, 'dev-signing-key.pem');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    // wx: when two processes start at once, the second keeps the first one's key.
    try {
      writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), {
        mode: 0o600,
        flag: 'wx',
      });
    } catch {
      /* created meanwhile */
    }
  }
  return readFileSync(file, 'utf8');
}

export function devPublicKeyPem(dataDir: string): string {
  return createPublicKey(createPrivateKey(devPrivateKeyPem(dataDir)))
    .export({ type: 'spki', format: 'pem' })
    .toString();
}
