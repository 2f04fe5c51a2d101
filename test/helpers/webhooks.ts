// Webhook test kit: a real HTTP receiver on loopback, a signature verifier written from the
// Standard Webhooks rules in the spec (deliberately NOT the server's signing code), the spec's
// event schemas, and ways to commit (or roll back) outbox events without the posting endpoints.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { join } from 'node:path';
import type { Test } from 'tap';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { inTransaction, type Db, type Sql } from '../../db/client.ts';
import { newId } from '../../db/ids.ts';
import { insertEvents, newEvent, type EventData, type EventType } from '../../db/outbox.ts';
import { repoRoot } from '../../server/config.ts';
import type { components } from '../../generated/api.ts';
import { mintToken, type TokenOptions } from './auth.ts';
import type { TestServer } from './server.ts';
import { waitFor } from './wait.ts';

/**
 * Server environment for webhook tests: 4 attempts 50 ms apart, a 2 s deadline (so the lease of a
 * killed instance, deadline + 5 s, runs out soon), and a 1 s poll.
 */
export const WEBHOOK_TEST_ENV = {
  WEBHOOK_RETRY_SCHEDULE: '0.05,0.05,0.05',
  WEBHOOK_TIMEOUT_S: '2',
  WEBHOOK_POLL_S: '1',
};

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
  /** What the receiver answered (null: it never did). */
  answered: number | null;
}

/** What to answer to the n-th request (0-based): a status (+ headers), or 'hang' to never answer. */
export type Responder = (
  request: Received,
  n: number,
) => { status: number; headers?: Record<string, string> } | 'hang';

export interface Receiver {
  url: string;
  received: Received[];
  /** Requests answered 2xx (the deliveries that counted). */
  acknowledged(): Received[];
  respond: Responder;
}

export async function startReceiver(
  t: Test,
  respond: Responder = () => ({ status: 200 }),
): Promise<Receiver> {
  const received: Received[] = [];
  const receiver: Receiver = {
    url: '',
    received,
    acknowledged: () => received.filter((r) => r.answered !== null && r.answered < 300),
    respond,
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const entry: Received = { headers: req.headers, body, at: Date.now(), answered: null };
      received.push(entry);
      const answer = receiver.respond(entry, received.length - 1);
      if (answer === 'hang') return;
      entry.answered = answer.status;
      res.writeHead(answer.status, answer.headers).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  receiver.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hooks`;
  t.teardown(() => {
    server.closeAllConnections(); // hanging requests included
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return receiver;
}

/**
 * Which of `secrets` signed this request, per the spec: `webhook-signature` is a space-separated list
 * of `v1,<base64 HMAC-SHA256>` over "<webhook-id>.<webhook-timestamp>.<body>", keyed with the
 * base64-decoded part of the secret after `whsec_`; the timestamp must be within 5 minutes.
 */
export function signersOf(
  r: Pick<Received, 'headers' | 'body'>,
  secrets: string[],
  now = Date.now(),
): string[] {
  const id = r.headers['webhook-id'];
  const timestamp = r.headers['webhook-timestamp'];
  const signatures = r.headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string')
    return [];
  if (!/^\d+$/.test(timestamp) || Math.abs(now / 1000 - Number(timestamp)) > 300) return [];
  const given = signatures
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => Buffer.from(s.slice(3), 'base64'));
  return secrets.filter((secret) => {
    if (!secret.startsWith('whsec_')) return false;
    const expected = createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64'))
      .update(`${id}.${timestamp}.${r.body}`)
      .digest();
    return given.some((g) => g.length === expected.length && timingSafeEqual(g, expected));
  });
}

const spec = JSON.parse(readFileSync(join(repoRoot, 'generated/openapi.json'), 'utf8'));

/** A validator for the spec's components.schemas[name] (the webhook payloads live there). */
export function schemaValidator(name: string) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema(spec, 'openapi.json');
  const validate = ajv.getSchema(`openapi.json#/components/schemas/${name}`);
  if (!validate) throw new Error(`no schema ${name} in the spec`);
  return (value: unknown) => (validate(value) ? null : ajv.errorsText(validate.errors));
}

/** The types commitEvents can make up an event of. */
export type SampleType = 'inventory.stock_move.posted' | 'inventory.receipt.posted';

// What the posting endpoints will put in `data` (a StockMove, a Receipt), shaped as the spec says.
const sampleData: { [T in SampleType]: () => EventData[T] } = {
  'inventory.stock_move.posted': () => ({
    id: newId('sm'),
    type: 'RECEIPT',
    status: 'POSTED',
    to_wh: 'WH-A',
    lines: [{ item_id: 'sku-1', qty: 5, serials: [] }],
    created_by: 'tester',
    created_at: new Date().toISOString(),
  }),
  'inventory.receipt.posted': () => ({
    id: newId('rcpt'),
    po_id: 'po_1',
    warehouse_id: 'WH-A',
    status: 'POSTED',
    lines: [{ po_line_id: 'pol_1', item_id: 'sku-1', qty_received: 5, serials: [] }],
    etag: '"v1"',
    match: { po_id: 'po_1', status: 'PENDING', price_tolerance: 0, lines: [] },
    created_at: new Date().toISOString(),
    updated_at: new Date().toISOString(),
  }),
};

/**
 * Commits `count` events of `type`, one transaction each (as postings do), or all in one when
 * `together` (so one dispatcher pass sees them all); returns their ids. `data` overrides fields
 * of the sample (e.g. its warehouses).
 */
/** Writes an event of the sample's kind, with the warehouses its data names. */
async function enqueueEvent<T extends SampleType>(db: Db, type: T, data: EventData[T]) {
  const d = data as { from_wh?: string; to_wh?: string; warehouse_id?: string };
  const event = newEvent(type, data, [d.from_wh, d.to_wh, d.warehouse_id]);
  await insertEvents(db, [event]);
  return event;
}

export async function commitEvents<T extends SampleType>(
  sql: Sql,
  type: T,
  count = 1,
  { together = false, data = {} }: { together?: boolean; data?: Partial<EventData[T]> } = {},
): Promise<string[]> {
  const enqueue = async (db: Db) =>
    (await enqueueEvent(db, type, { ...sampleData[type](), ...data } as EventData[T])).id;
  if (together) {
    return inTransaction(sql, async (tx) => {
      const ids: string[] = [];
      for (let i = 0; i < count; i++) ids.push(await enqueue(tx));
      return ids;
    });
  }
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(await inTransaction(sql, enqueue));
  return ids;
}

/** Writes an event in a transaction that then rolls back (a posting that failed); returns its id. */
export async function rolledBackEvent(
  sql: Sql,
  type: SampleType = 'inventory.stock_move.posted',
): Promise<string> {
  let id = '';
  await sql
    .begin(async (tx) => {
      id = (await enqueueEvent(tx, type, sampleData[type]())).id;
      throw new Error('roll back');
    })
    .catch((err) => {
      if ((err as Error).message !== 'roll back') throw err;
    });
  return id;
}

/** Subscribes `receiver` to `events` through the API of the server at `baseUrl`; returns the endpoint, secret included. */
export async function subscribe(
  baseUrl: string,
  receiver: Receiver,
  events: EventType[] = ['inventory.stock_move.posted'],
) {
  const res = await fetch(`${baseUrl}/webhooks/endpoints`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${mintToken({ scope: 'webhooks:manage' })}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ url: receiver.url, events }),
  });
  if (res.status !== 201)
    throw new Error(`creating the endpoint: ${res.status} ${await res.text()}`);
  return (await res.json()) as components['schemas']['WebhookEndpointWithSecret'];
}

type Endpoint = components['schemas']['WebhookEndpointWithSecret'];
type SubscribableType = components['schemas']['WebhookEventType'];

/** Creates an endpoint for url with token's claims (the two sample types by default); throws unless 201. */
export async function createEndpoint(
  s: TestServer,
  token: TokenOptions,
  url: string,
  events: SubscribableType[] = ['inventory.stock_move.posted', 'inventory.receipt.posted'],
): Promise<Endpoint> {
  const { data, error, response } = await s
    .client(token)
    .POST('/webhooks/endpoints', { body: { url, events } });
  if (response.status !== 201 || !data)
    throw new Error(`creating an endpoint: ${response.status} ${JSON.stringify(error)}`);
  return data;
}

/** Ids of the events a receiver acknowledged, each once per time it was acknowledged. */
export const acknowledgedIds = (r: Receiver) =>
  r.acknowledged().map((x) => String(x.headers['webhook-id']));

/** Every event fanned out, and every delivery settled (none PENDING): nothing more will be sent. */
export async function settled(sql: Sql): Promise<void> {
  await waitFor('every event fanned out and every delivery settled', async () => {
    const [row] = await sql<{ n: number }[]>`
      SELECT ((SELECT count(*) FROM outbox WHERE dispatched_at IS NULL)
            + (SELECT count(*) FROM webhook_deliveries WHERE status = 'PENDING'))::int AS n`;
    return row.n === 0;
  });
}
