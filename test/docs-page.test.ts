// The reference page at /docs, as a reader sees it: loaded in headless Chromium, it is titled with
// the API's name, lists every operation of the spec with its examples and code samples, explains
// every problem type at /docs#problem-<slug> after the operations, and "Try it out" works with a
// pasted token and no filter filled in. Screenshots go to .tap/screenshots/. The published
// documents name the server they were fetched from.
import t from 'tap';
import type { Page } from 'playwright-core';
import { problemTypes } from '../generated/problems.ts';
import { operations, spec } from '../server/spec.ts';
import { launchBrowser, screenshotPath } from './helpers/browser.ts';
import { ok } from './helpers/procurement.ts';
import { startServer } from './helpers/server.ts';

const LOAD_TIMEOUT_MS = 30_000;

async function openDocs(page: Page, url: string) {
  await page.goto(url);
  await page.waitForSelector('.opblock-summary-operation-id', { timeout: LOAD_TIMEOUT_MS });
}

t.test('/openapi.json and /openapi.yaml name the server they were fetched from', async (t) => {
  const s = await startServer(t);
  const json = await (await fetch(`${s.url}/openapi.json`)).json();
  t.strictSame(json.servers, [{ url: s.url, description: 'This server' }]);
  t.match(await (await fetch(`${s.url}/openapi.yaml`)).text(), `- url: ${s.url}\n`);
  const page = await (await fetch(`${s.url}/docs/json`)).json();
  t.strictSame(page.servers, json.servers, 'and so does the page');
  // Behind a proxy that TRUST_PROXY trusts, the address the client used.
  const behind = await startServer(t, { env: { TRUST_PROXY: '127.0.0.1' } });
  const proxied = await fetch(`${behind.url}/openapi.json`, {
    headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example.com' },
  });
  t.strictSame((await proxied.json()).servers, [
    { url: 'https://api.example.com', description: 'This server' },
  ]);
});

t.test('/docs in headless Chromium', async (t) => {
  const browser = await launchBrowser(t);
  if (!browser) return;
  const s = await startServer(t);
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await openDocs(page, `${s.url}/docs`);

  t.test("the page is titled with the API's name, without Swagger's top bar", async (t) => {
    t.equal(await page.title(), spec.info.title);
    t.match(await page.locator('.info .title').textContent(), spec.info.title);
    t.equal(await page.locator('.topbar').count(), 0, 'no logo, no "Explore" bar');
  });

  t.test('the operations come first, the problem types after them', async (t) => {
    const top = async (selector: string) =>
      (await page.locator(selector).first().boundingBox())?.y ?? Number.NaN;
    const firstOperation = await top('.opblock');
    t.ok(firstOperation < 1000, `the first operation is on the first screen (${firstOperation})`);
    t.ok(firstOperation < (await top('#problem-types')), 'before the problem types');
  });

  t.test('every operation is listed, by its operationId', async (t) => {
    const listed = await page.locator('.opblock-summary-operation-id').allTextContents();
    // Operations with two tags are listed under both; the webhooks (events we send) are listed too.
    const webhooks = Object.values(spec.webhooks ?? {}).flatMap((item: any) =>
      Object.values(item).map((op: any) => op.operationId),
    );
    t.strictSame(
      [...new Set(listed.map((id) => id.trim()))].sort(),
      [...operations.keys(), ...webhooks].sort(),
    );
    t.ok(listed.includes('createStockMove') && listed.includes('createReceipt'));
    await page.screenshot({ path: screenshotPath('docs') });
  });

  t.test('an operation shows its examples', async (t) => {
    const op = page.locator('.opblock', {
      has: page.locator('.opblock-summary-operation-id', { hasText: /^createStockMove$/ }),
    });
    await op.locator('.opblock-summary').click();
    const examples = op.locator('.examples-select select').first();
    await examples.waitFor({ timeout: LOAD_TIMEOUT_MS });
    t.match(await examples.textContent(), /Transfer 10 units from WH-A to WH-B/);
    t.match(
      await op.locator('.body-param__example, .microlight').first().textContent(),
      /"from_wh": "WH-A"/,
    );
    const description = await op.locator('.opblock-description-wrapper').first().textContent();
    t.match(description, /curl -X POST "\$API\/inventory\/stock-moves"/, 'a curl sample');
    t.match(description, /await api\.POST\('\/inventory\/stock-moves'/, 'an SDK sample');
    await op.screenshot({ path: screenshotPath('docs-code-samples') });
    await op.locator('.opblock-summary').click();
  });

  t.test('every problem type has a section of its own', async (t) => {
    for (const [slug, problem] of Object.entries(problemTypes)) {
      const section = page.locator(`#problem-${slug}`);
      t.equal(await section.textContent(), slug, `#problem-${slug}`);
      // What follows the heading, up to the next one, names the URI, the status and the title.
      const text = await section.evaluate((h) => {
        let out = '';
        for (
          let el = h.nextElementSibling;
          el && !/^H[23]$/.test(el.tagName);
          el = el.nextElementSibling
        )
          out += el.textContent;
        return out;
      });
      t.ok(
        text.includes(problem.uri) && text.includes(`${problem.status} ${problem.title}`),
        `${slug}: URI, status and title`,
      );
    }
  });

  t.test('/docs#problem-<slug> opens at that section', async (t) => {
    const linked = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await openDocs(linked, `${s.url}/docs#problem-over-issuance`);
    await linked.waitForFunction(
      () => {
        const top = document.getElementById('problem-over-issuance')?.getBoundingClientRect().top;
        return top !== undefined && top > -10 && top < window.innerHeight / 2;
      },
      undefined,
      { timeout: LOAD_TIMEOUT_MS },
    );
    t.pass('the over-issuance section is in view');
    await linked.screenshot({ path: screenshotPath('docs-problem-types') });
  });

  t.test('Try it out with a pasted token calls this server, with no filter', async (t) => {
    ok(
      await s.client().POST('/inventory/items', {
        body: {
          id: 'sku-docs',
          sku: 'SKU-DOCS',
          name: 'Seen from the docs page',
          uom: 'EA',
          track_by: 'NONE',
        },
      }),
    );
    await page.locator('.auth-wrapper .authorize').click();
    // The scheme that works without an authorization server comes first.
    t.match(await page.locator('.auth-container').first().textContent(), /pasted/);
    const pasted = page.locator('.auth-container', { hasText: 'pasted' });
    await pasted.locator('input').fill(s.token({ scope: 'inventory:read' }));
    await pasted.locator('button.authorize').click();
    await pasted.locator('button.btn-done').click();

    const op = page.locator('.opblock', {
      has: page.locator('.opblock-summary-operation-id', { hasText: /^listItems$/ }),
    });
    await op.locator('.opblock-summary').click();
    await op.locator('.try-out__btn').click();
    for (const name of ['search', 'warehouse'])
      t.equal(await op.locator(`tr[data-param-name="${name}"] input`).inputValue(), '', name);
    await op.locator('.execute').click();
    const status = op.locator('.live-responses-table .response .response-col_status').first();
    await status.waitFor({ timeout: LOAD_TIMEOUT_MS });
    t.equal((await status.textContent())?.trim(), '200');
    t.match(await op.locator('.live-responses-table').textContent(), /sku-docs/);
    t.notMatch(await op.locator('.request-url').textContent(), /search=|warehouse=/);
    await op.screenshot({ path: screenshotPath('docs-try-it') });
  });
});
