// Headless Chromium for page tests: Debian's `chromium` (apt-get install -y chromium) driven by
// playwright-core, which never downloads a browser of its own. The flags keep Chromium off the
// network it would otherwise reach for at start (updates, sync, field trials), which is closed here.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Test } from 'tap';
import { missingTool } from './tools.ts';
import { chromium, type Browser } from 'playwright-core';
import { repoRoot } from '../../server/config.ts';

const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * A browser closed when t ends, or null when Chromium is missing (skipped, or failed on CI: see
 * helpers/tools.ts).
 */
export async function launchBrowser(t: Test): Promise<Browser | null> {
  if (!existsSync(CHROMIUM_PATH)) {
    const message = `no Chromium at ${CHROMIUM_PATH}: install it with \`apt-get install -y chromium\` (or set CHROMIUM_PATH)`;
    missingTool(t, message);
    return null;
  }
  // launch() gives every browser a fresh, temporary profile (user data dir) of its own.
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: FLAGS,
  });
  t.teardown(() => browser.close());
  return browser;
}

/** Where screenshots go (.tap/ is git-ignored): .tap/screenshots/<name>.png. */
export function screenshotPath(name: string): string {
  const file = join(repoRoot, '.tap', 'screenshots', `${name}.png`);
  mkdirSync(dirname(file), { recursive: true });
  return file;
}
