// How a receiver verifies an Inventory API webhook (Standard Webhooks). Self-contained: Node's
// crypto only, nothing from this repository, so you can copy verifyWebhook() into your service.
//
//   npx tsx examples/verify-webhook.ts
//
// verifies a sample request signed with a sample secret and prints the result, then shows that
// a tampered body, an old timestamp and a wrong secret are rejected.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { pathToFileURL } from 'node:url';

export class WebhookVerificationError extends Error {}

/** Oldest (and furthest in the future) a webhook-timestamp may be: replayed requests are refused. */
const TOLERANCE_S = 5 * 60;

/**
 * Checks a webhook request and returns the parsed event. `body` must be the raw request body,
 * byte for byte as received: parsing and re-serialising JSON changes it and breaks the signature.
 * `secrets` is your endpoint's secret (`whsec_...`), or the new and the old one while you rotate.
 */
export function verifyWebhook(
  secrets: string[],
  headers: Record<string, string | string[] | undefined>,
  body: string,
  now: number = Date.now(),
): { id: string; type: string; timestamp: string; data: unknown } {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') {
    throw new WebhookVerificationError(
      'missing webhook-id, webhook-timestamp or webhook-signature',
    );
  }
  if (!/^\d+$/.test(timestamp) || Math.abs(now / 1000 - Number(timestamp)) > TOLERANCE_S) {
    throw new WebhookVerificationError('webhook-timestamp is more than 5 minutes off');
  }
  const signed = `${id}.${timestamp}.${body}`;
  // The header lists one "v1,<base64>" per secret the sender signed with (two after a rotation);
  // one match with one of your secrets is enough.
  const given = signatures
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => Buffer.from(s.slice(3), 'base64'));
  for (const secret of secrets) {
    const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
    const expected = createHmac('sha256', key).update(signed).digest();
    // Constant-time comparison: no timing hints about how much of a forged signature was right.
    if (given.some((g) => g.length === expected.length && timingSafeEqual(g, expected)))
      return JSON.parse(body);
  }
  throw new WebhookVerificationError('no signature matches');
}

// ---- The sample: what the API sent for a stock move, and the secret it was signed with. ----

const SAMPLE_SECRET = 'whsec_cvFFCwUxzdWSqgsp0dtVbYNGZD4l5keqHQbJebAt0ts=';
// The secret before a rotation: during the 24 h after it, requests carry a signature for each.
const SAMPLE_OLD_SECRET = 'whsec_F6J4IlszhMTER/smHhkXLu9lo4F2QWhi3G51Ewq5ePQ=';
const SAMPLE_HEADERS = {
  'content-type': 'application/json',
  'webhook-id': 'evt_01JD7ZK3Q8X2M4N6P8R0T2V4W6',
  'webhook-timestamp': '1795000000',
  'webhook-signature':
    'v1,0NCxvOPitizQScLIsPR6jSX3omSE1tDKJVwCs4B4KHU= v1,JIEj4RV+Buonyleply7XXR9Qmjt0Dg+lgElm7+KRiQk=',
};
const SAMPLE_BODY =
  '{"id":"evt_01JD7ZK3Q8X2M4N6P8R0T2V4W6","type":"inventory.stock_move.posted","timestamp":"2026-11-18T11:06:39.512Z","warehouse_ids":["WH-A","WH-B"],"data":{"id":"sm_01JD7ZK3Q8X2M4N6P8R0T2V4W5","type":"TRANSFER","status":"POSTED","from_wh":"WH-A","to_wh":"WH-B","lines":[{"item_id":"sku-1","qty":10,"serials":[]}],"idempotency_key":"outline-1","created_by":"alice","created_at":"2026-11-18T11:06:39.512Z"}}';
// The sample was signed at 1795000000; check it as if it had just arrived.
const ARRIVED_AT = 1795000000 * 1000 + 800;

function check(label: string, run: () => { id: string; type: string }): boolean {
  try {
    const event = run();
    console.log(`valid    ${label}: ${event.type} ${event.id}`);
    return true;
  } catch (err) {
    if (!(err instanceof WebhookVerificationError)) throw err;
    console.log(`rejected ${label}: ${err.message}`);
    return false;
  }
}

// Run as a script (not when imported): check the sample and print the results.
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const results = [
    check('sample, current secret', () =>
      verifyWebhook([SAMPLE_SECRET], SAMPLE_HEADERS, SAMPLE_BODY, ARRIVED_AT),
    ),
    check('sample, old secret (rotation)', () =>
      verifyWebhook([SAMPLE_OLD_SECRET], SAMPLE_HEADERS, SAMPLE_BODY, ARRIVED_AT),
    ),
    !check('tampered body', () =>
      verifyWebhook(
        [SAMPLE_SECRET],
        SAMPLE_HEADERS,
        SAMPLE_BODY.replace('"qty":10', '"qty":100'),
        ARRIVED_AT,
      ),
    ),
    !check('replayed an hour later', () =>
      verifyWebhook([SAMPLE_SECRET], SAMPLE_HEADERS, SAMPLE_BODY, ARRIVED_AT + 3600_000),
    ),
    !check("another endpoint's secret", () =>
      verifyWebhook(
        ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
        SAMPLE_HEADERS,
        SAMPLE_BODY,
        ARRIVED_AT,
      ),
    ),
  ];
  const ok = results.every(Boolean);
  console.log(ok ? 'OK: the sample verifies, and the forgeries are rejected' : 'UNEXPECTED RESULT');
  process.exitCode = ok ? 0 : 1;
}
