// The change feed (docs/events.md): every event a token may see, in commit order, by position.
import { findEvent, readFeed } from '../db/feed.ts';
import { canSeeEvent } from '../domain/events.ts';
import { withJson } from '../domain/json.ts';
import { PageBody, pageLimit } from '../domain/pages.ts';
import { invalidField, notFound, ProblemError } from '../domain/problems.ts';
import { eventTypes } from '../generated/event-types.ts';
import type { Handlers } from './types.ts';

const FEED_TYPES = new Set<string>(
  eventTypes.map((e) => e.type).filter((type) => type !== 'webhook.test'),
);

/** The types asked for; 422 naming one the feed never has (a typo would otherwise read as "no events"). */
function feedTypes(list: string): string[] {
  const types = list.split(',');
  const unknown = types.find((type) => !FEED_TYPES.has(type));
  if (unknown !== undefined) {
    throw invalidField(
      '#/query/types',
      'unknown_event_type',
      `The feed has no events of type ${unknown}; GET /webhooks/event-types lists the types (webhook.test is never in the feed).`,
    );
  }
  return types;
}

const larger = (a: string, b: string) => (BigInt(a) > BigInt(b) ? a : b);

export const eventHandlers = {
  async listEvents({ db, query, principal, feed }) {
    const limit = pageLimit(query.limit);
    const after = query.after === undefined ? null : feed.position(query.after);
    const { events, scannedThrough, last, expiredThrough } = await readFeed(db, {
      // Without a cursor: from the oldest event kept.
      after: after ?? '0',
      limit,
      types: query.types === undefined ? null : feedTypes(query.types),
      allowed: principal.warehouses && [...principal.warehouses],
    });
    if (after !== null && BigInt(after) < BigInt(expiredThrough)) {
      throw new ProblemError(
        'cursor-expired',
        'Events after this cursor are no longer all kept. Copy the lists again, then follow the feed from their page.events_after.',
      );
    }
    const full = events.length > limit;
    const shown = full ? events.slice(0, limit) : events;
    // Past the last event shown: on a full page, that event; where the scan's budget ran out,
    // what it looked at; at the feed's end, every event of this snapshot (filtered ones
    // included), so the next read starts where this one stopped looking.
    const through = full
      ? shown[shown.length - 1].position
      : (scannedThrough ?? larger(after ?? '0', larger(last, shown.at(-1)?.position ?? '0')));
    const hasMore = full || scannedThrough !== null;
    return {
      status: 200,
      body: new PageBody(
        // Sent as stored: the page is assembled from the payloads' text, never stringified anew.
        shown.map((e) => withJson(JSON.parse(e.payload), e.payload)),
        { limit, has_more: hasMore, next_cursor: feed.cursor(through) },
      ) as never,
    };
  },

  async getEvent({ db, params, principal }) {
    const event = await findEvent(db, params.id);
    // One the token may not see is as absent as one that does not exist.
    if (!event || !canSeeEvent(principal, event)) throw notFound('event', params.id);
    return { status: 200, body: event.payload as never };
  },
} satisfies Partial<Handlers>;
