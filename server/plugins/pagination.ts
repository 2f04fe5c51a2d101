// docs/standards.md §6: keyset pagination with opaque cursors that are signed (tamper-evident) and bound
// to the operation and filters they were made with. The signing key lives in the database, so
// every instance accepts every other instance's cursors.
import { createHmac, hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ProblemError } from '../../domain/problems.ts';
import type { Sql } from '../../db/client.ts';
import {
  PageBody,
  pageLimit,
  type FeedCursors,
  type Page,
  type PageRequest,
} from '../../domain/pages.ts';

declare module 'fastify' {
  interface FastifyInstance {
    pager: Pager;
  }
}

const b64 = (buf: Buffer | string) => Buffer.from(buf).toString('base64url');

export class Pager {
  private lastFeed = { position: '', cursor: '' };

  constructor(private readonly key: Buffer) {}

  private filterHash(operationId: string, query: Record<string, unknown>): string {
    const filters = Object.keys(query)
      .filter((k) => k !== 'cursor' && k !== 'limit' && query[k] !== undefined)
      .sort()
      .map((k) => [k, query[k]]);
    return hash('sha256', JSON.stringify([operationId, filters]), 'base64url').slice(0, 16);
  }

  private sign(payload: string): Buffer {
    return createHmac('sha256', this.key).update(payload).digest().subarray(0, 16);
  }

  /** The signed cursor of `content`. */
  private seal(content: object): string {
    const payload = b64(JSON.stringify(content));
    return `${payload}.${b64(this.sign(payload))}`;
  }

  /** What a cursor this server sealed holds; null for anything else (forged, altered, garbage). */
  private open(cursor: string): Record<string, unknown> | null {
    const [payload, signature] = cursor.split('.');
    const given = Buffer.from(signature ?? '', 'base64url');
    const expected = payload ? this.sign(payload) : Buffer.alloc(0);
    if (!payload || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return null;
    }
    try {
      const decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
      return decoded !== null && typeof decoded === 'object' ? decoded : null;
    } catch {
      return null;
    }
  }

  /** Reads `limit` and `cursor` of a list request (422 invalid-cursor for a forged or foreign cursor). */
  request(operationId: string, query: Record<string, unknown>): PageRequest {
    const limit = pageLimit(query.limit);
    const cursor = query.cursor;
    if (typeof cursor !== 'string') return { limit, after: null };
    const decoded = this.open(cursor);
    if (!decoded || !Array.isArray(decoded.k)) {
      throw new ProblemError(
        'invalid-cursor',
        'The cursor is not one this server issued. Start again from the first page.',
      );
    }
    if (decoded.f !== this.filterHash(operationId, query)) {
      throw new ProblemError(
        'invalid-cursor',
        'The cursor was made for different filters. Use it with the same filters, or start again.',
      );
    }
    return { limit, after: decoded.k };
  }

  /**
   * Builds the page from up to limit+1 rows fetched after the position; keyOf gives a row's keyset
   * key. `resumeAfter`: the handler stopped looking before it knew whether more rows follow (a
   * budget of work ran out), having looked at everything up to this key: with no more than `limit`
   * rows, the page then has more and its cursor resumes after that key (the rows, possibly none,
   * all come before it).
   */
  page<T>(
    operationId: string,
    query: Record<string, unknown>,
    req: PageRequest,
    rows: T[],
    keyOf: (row: T) => unknown[],
    resumeAfter?: unknown[],
  ): Page<T> {
    const full = rows.length > req.limit;
    const hasMore = full || resumeAfter !== undefined;
    const shown = full ? rows.slice(0, req.limit) : rows;
    const page: Page<T>['page'] = { limit: req.limit, has_more: hasMore };
    if (hasMore) {
      page.next_cursor = this.seal({
        k: full ? keyOf(shown[shown.length - 1]) : resumeAfter,
        f: this.filterHash(operationId, query),
      });
    }
    return new PageBody(shown, page);
  }

  /**
   * Feed cursors (docs/events.md): a position in the feed, sealed like list cursors but bound to
   * no filter, so that a list's `events_after` serves any later `GET /events?types=...`.
   */
  readonly feed: FeedCursors = {
    // Lists answer the same position again and again while nothing is written (searches answer
    // their index's): its cursor is sealed once, not per request.
    cursor: (position) => {
      if (position !== this.lastFeed.position)
        this.lastFeed = { position, cursor: this.seal({ e: position }) };
      return this.lastFeed.cursor;
    },
    position: (cursor) => {
      const decoded = this.open(cursor);
      if (!decoded || typeof decoded.e !== 'string' || !/^[0-9]{1,19}$/.test(decoded.e)) {
        throw new ProblemError(
          'invalid-cursor',
          'This is not a feed cursor this server issued: pass a page.next_cursor of GET /events or a page.events_after of a list.',
        );
      }
      return decoded.e;
    },
  };
}

/** Loads (or, on first start, creates) the shared cursor key. */
async function loadCursorKey(sql: Sql): Promise<Buffer> {
  await sql`INSERT INTO app_secrets (name, value) VALUES ('cursor_key', ${randomBytes(32)}) ON CONFLICT (name) DO NOTHING`;
  const [row] = await sql`SELECT value FROM app_secrets WHERE name = 'cursor_key'`;
  return Buffer.from(row.value);
}

export default fp(
  async function pagination(app: FastifyInstance, { sql }: { sql: Sql }) {
    app.decorate('pager', new Pager(await loadCursorKey(sql)));
  },
  { name: 'pagination' },
);
