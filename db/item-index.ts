// An in-memory read model of the catalogue for GET /inventory/items?search=: substring search on
// "sku name" (lower case, like the SQL path) answered from a trigram index instead of PostgreSQL,
// whose trigram GIN scans cost milliseconds per query when SKUs share a prefix.
//
// Fresh: every item write NOTIFYs `items` with the item id from its transaction, so each instance
// reloads that item after the commit; on (re)connecting the listener the whole catalogue reloads.
// Read-your-writes: a writer calls expect(id) before committing; until that item's notification
// arrived (or 10 s passed, e.g. after a rollback), searches read it by key and judge it by that row
// instead of its entry (unindexed). No search ever runs its pattern over the items table.
//
// Compact: items are numbered (handles) and every list holds handles in an Int32Array, kept in id
// order (ids are ASCII, by the spec's Code pattern, so code-unit order is the C collation order
// the SQL path pages in: listItems orders by id COLLATE "C", whatever the database's default).
// Every major garbage collection marks each object the index holds, so an item is kept in as few
// heap objects as it can be: one object with its row's fields, its text as one flat string (not a
// concatenation of lower-cased parts) and its JSON once presented, also in one piece.
//
// Fast: a search walks the list of its rarest trigram, whose items need not contain the others.
// Each item also has a 64-bit signature (a bit per trigram hash) in one contiguous array, so most
// such candidates are ruled out without touching their text, scattered over the heap.
import { must } from '../domain/must.ts';
import type { Db, Sql } from './client.ts';
import type { ItemRow } from './items.ts';

export const ITEMS_CHANNEL = 'items';

/**
 * One item of the index: its row's fields, the text searched, and its JSON once a search presented
 * it, in one object (every major collection marks each object the index holds).
 */
export interface Entry extends ItemRow {
  readonly text: string;
  /**
   * The item as the API presents it, made by the first search to return it (handlers/items.ts) and
   * reused by every later one; an entry is replaced when its item changes, so it cannot go stale.
   */
  json: string | undefined;
}

/** Id order, the order of every list the index keeps and answers (C collation, see above). */
const byId = (a: Entry, b: Entry) => (a.id < b.id ? -1 : 1);

/** Whether an entry is a search's match: its text holds the (lower-cased) term, in the state asked. */
const matches = (entry: Entry, term: string, active: boolean | undefined) =>
  entry.text.includes(term) && (active === undefined || entry.active === active);

/** Most items convert to no other unit: they share one frozen list, not an empty array each. */
const NO_CONVERSIONS: ItemRow['uom_conversions'] = Object.freeze([]) as never;
const asIs = (value: string) => value;

/**
 * The entry of a row. `intern` gives one copy of each repeated value (the index's Interner);
 * `updatedAt` false for a row just updated, whose updated_at nobody shares.
 */
function entryOf(row: ItemRow, intern = asIs, updatedAt = true): Entry {
  return {
    id: row.id,
    sku: row.sku,
    name: row.name,
    uom: intern(row.uom),
    uom_conversions: row.uom_conversions.length ? row.uom_conversions : NO_CONVERSIONS,
    integral: row.integral,
    track_by: intern(row.track_by) as ItemRow['track_by'],
    active: row.active,
    version: row.version,
    created_at: intern(row.created_at),
    updated_at: updatedAt ? intern(row.updated_at) : row.updated_at,
    text: `${row.sku} ${row.name}`.toLowerCase(),
    json: undefined,
  };
}

type Handles = Int32Array;

/** This instance's item writes not indexed yet, as read by key (ItemIndex.unindexed). */
export interface Unindexed {
  readonly ids: ReadonlySet<string>;
  /** The rows of those that exist, in id order. */
  readonly entries: readonly Entry[];
}

const EXPECT_MS = 10_000;
const PAGE = 20_000;
const columns = (db: Db) =>
  db`id, sku, name, uom, uom_conversions, integral, track_by, active, version, created_at, updated_at`;

function trigrams(text: string): Set<string> {
  const grams = new Set<string>();
  for (let i = 0; i + 3 <= text.length; i++) grams.add(text.slice(i, i + 3));
  return grams;
}

/** The item's or term's trigram signature: bit (hash of the trigram mod 64) set for each, as [low, high] words. */
function signature(text: string): [number, number] {
  const words: [number, number] = [0, 0];
  for (let i = 0; i + 3 <= text.length; i++) {
    const bit =
      Math.imul(
        text.charCodeAt(i) * 961 + text.charCodeAt(i + 1) * 31 + text.charCodeAt(i + 2),
        0x9e3779b1,
      ) >>> 26;
    words[bit >> 5] |= 1 << (bit & 31);
  }
  return words;
}

/** The substrings of one and two characters, to answer short terms that occur nowhere at once. */
function shortGrams(text: string): Set<string> {
  const grams = new Set<string>();
  for (let i = 0; i < text.length; i++) {
    grams.add(text[i]);
    if (i + 2 <= text.length) grams.add(text.slice(i, i + 2));
  }
  return grams;
}

/**
 * One copy of each repeated value (units, tracking kinds, timestamps of bulk-created items): a
 * catalogue has few distinct ones, and a copy per item is most of the index's memory.
 */
class Interner {
  private readonly seen = new Map<string, string>();
  of(value: string): string {
    const known = this.seen.get(value);
    if (known !== undefined) return known;
    if (this.seen.size < 100_000) this.seen.set(value, value);
    return value;
  }
}

export class ItemIndex {
  private interner = new Interner();
  /** By handle: every handle in the lists below indexes one (replaced, never removed). */
  private entries: Entry[] = [];
  private handleOf = new Map<string, number>();
  /** Every item, and per trigram the items containing it, as handles in id order. */
  private all: Handles = new Int32Array(0);
  private postings = new Map<string, Handles>();
  private shortCounts = new Map<string, number>();
  /** Two words per handle: the signature of its text. */
  private signatures = new Int32Array(0);
  /** Items this instance is committing: the version it waits for, and until when it waits. */
  private expected = new Map<string, { version: number; until: number }>();
  private ready = false;
  /**
   * A feed position every change of which the index reflects: what a search answers as
   * page.events_after, since the index, not a database snapshot, is what it shows
   * (server/plugins/item-index.ts keeps it). Stale after a failed refresh, until the next load.
   */
  private reflected = 0n;
  private stale = false;

  constructor(private readonly sql: Sql) {}

  /** The feed position searches answer as events_after ('0', the feed's start, while stale). */
  get feedPosition(): string {
    return this.stale ? '0' : String(this.reflected);
  }

  /** Every change up to `position` is in the index now. */
  reflects(position: string): void {
    if (BigInt(position) > this.reflected) this.reflected = BigInt(position);
  }

  /** A refresh failed: some change may be missing until the next load. */
  lost(): void {
    this.stale = true;
  }

  /** Loaded anew: every change up to `position` (read before the load) is in it. */
  reloaded(position: string): void {
    this.stale = false;
    this.reflects(position);
  }

  private id(handle: number): string {
    return this.entries[handle].id;
  }

  /** Position of the first handle whose id is > id (binary search). */
  private after(list: Handles, id: string | undefined): number {
    if (id === undefined) return 0;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.id(list[mid]) <= id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private inserted(list: Handles, handle: number): Handles {
    const at = this.after(list, this.id(handle));
    const next = new Int32Array(list.length + 1);
    next.set(list.subarray(0, at));
    next[at] = handle;
    next.set(list.subarray(at), at + 1);
    return next;
  }

  private removed(list: Handles, handle: number): Handles {
    const at = list.indexOf(handle);
    if (at < 0) return list;
    const next = new Int32Array(list.length - 1);
    next.set(list.subarray(0, at));
    next.set(list.subarray(at + 1), at);
    return next;
  }

  private sign(handle: number, text: string) {
    if (2 * handle + 2 > this.signatures.length) {
      const grown = new Int32Array(Math.max(2 * handle + 2, 2 * this.signatures.length));
      grown.set(this.signatures);
      this.signatures = grown;
    }
    [this.signatures[2 * handle], this.signatures[2 * handle + 1]] = signature(text);
  }

  private readonly intern = (value: string) => this.interner.of(value);

  private count(grams: Set<string>, by: number) {
    for (const g of grams) this.shortCounts.set(g, (this.shortCounts.get(g) ?? 0) + by);
  }

  /** (Re)loads the whole catalogue, a page at a time so that no huge result set is held at once. */
  async load(): Promise<void> {
    this.interner = new Interner(); // what an earlier load kept may be gone
    const entries: Entry[] = [];
    let last: string | null = null;
    for (;;) {
      const rows: ItemRow[] = await this.sql<ItemRow[]>`
        SELECT ${columns(this.sql)} FROM items ${last === null ? this.sql`` : this.sql`WHERE id > ${last}`} ORDER BY id LIMIT ${PAGE}`;
      for (const row of rows) entries.push(entryOf(row, this.intern));
      if (rows.length < PAGE) break;
      last = rows[rows.length - 1].id;
    }
    entries.sort(byId);
    // Two passes (count, then fill lists of exactly that size), so that building the index of a
    // large catalogue leaves no big garbage behind to inflate the process's memory.
    const sizes = new Map<string, number>();
    this.shortCounts = new Map();
    for (const entry of entries) {
      for (const g of trigrams(entry.text)) sizes.set(g, (sizes.get(g) ?? 0) + 1);
      this.count(shortGrams(entry.text), 1);
    }
    const postings = new Map([...sizes].map(([g, size]) => [g, new Int32Array(size)]));
    const filled = new Map<string, number>();
    entries.forEach((entry, handle) => {
      for (const g of trigrams(entry.text)) {
        const at = filled.get(g) ?? 0;
        // handles are in id order already
        must(postings.get(g), 'posting list of a counted trigram')[at] = handle;
        filled.set(g, at + 1);
      }
    });
    this.entries = entries;
    this.signatures = new Int32Array(2 * entries.length);
    entries.forEach((entry, handle) => {
      this.sign(handle, entry.text);
    });
    this.handleOf = new Map(entries.map((e, handle) => [e.id, handle]));
    this.all = Int32Array.from(entries.keys());
    this.postings = postings;
    this.ready = true;
  }

  /** Reloads the items whose notifications arrived. */
  async refresh(ids: string[]): Promise<void> {
    const rows = await this.sql<
      ItemRow[]
    >`SELECT ${columns(this.sql)} FROM items WHERE id = ANY(${ids}::text[])`;
    for (const fetched of rows) {
      const entry = entryOf(fetched, this.intern, false);
      let handle = this.handleOf.get(entry.id);
      const oldText = handle === undefined ? '' : this.entries[handle].text;
      if (handle === undefined) {
        handle = this.entries.length;
        this.entries.push(entry);
        this.handleOf.set(entry.id, handle);
        this.all = this.inserted(this.all, handle);
      } else this.entries[handle] = entry;
      this.sign(handle, entry.text);
      // Only the trigrams that changed: the lists of common ones are as long as the catalogue.
      const [before, after] = [trigrams(oldText), trigrams(entry.text)];
      for (const g of before)
        if (!after.has(g)) {
          const list = must(this.postings.get(g), 'posting list of an indexed trigram');
          this.postings.set(g, this.removed(list, handle));
        }
      for (const g of after)
        if (!before.has(g))
          this.postings.set(g, this.inserted(this.postings.get(g) ?? new Int32Array(0), handle));
      this.count(shortGrams(oldText), -1);
      this.count(shortGrams(entry.text), 1);
      if (entry.version >= (this.expected.get(entry.id)?.version ?? 0))
        this.expected.delete(entry.id);
    }
  }

  /**
   * A writer is about to commit this version of the item: searches read it by key until it is
   * indexed (an older version's notification, e.g. another instance's, does not count).
   */
  expect(id: string, version: number): void {
    this.expected.set(id, { version, until: Date.now() + EXPECT_MS });
  }

  /**
   * The items of this instance's writes not indexed yet, read by key (their current committed
   * rows), for search to use instead of its own entries; undefined when there are none. Their
   * number is bounded by this instance's item writes of the last few seconds, never the catalogue.
   */
  async unindexed(db: Db): Promise<Unindexed | undefined> {
    const now = Date.now();
    for (const [id, { until }] of this.expected) if (until < now) this.expected.delete(id);
    if (!this.expected.size) return undefined;
    const ids = [...this.expected.keys()];
    const rows = await db<
      ItemRow[]
    >`SELECT ${columns(db)} FROM items WHERE id = ANY(${ids}::text[])`;
    return {
      ids: new Set(ids),
      entries: rows.map((row) => entryOf(row)).sort(byId),
    };
  }

  /**
   * Up to `limit` items after `afterId` (in id order) whose "sku name" contains `search`. With
   * `unindexed` (read just before), those items are judged by the rows read, not by the index's
   * entries, which may be older: so a search sees this instance's own writes at once.
   */
  search(
    f: { search: string; active?: boolean; afterId?: string; limit: number },
    unindexed?: Unindexed,
  ): Entry[] {
    // The plugin loads the index before the server listens (server/plugins/item-index.ts).
    if (!this.ready) throw new Error('the item index was searched before it was loaded');
    const term = f.search.toLowerCase();
    const found = this.walk(term, f, unindexed?.ids);
    if (!unindexed) return found;
    const fresh = unindexed.entries.filter(
      (e) => (f.afterId === undefined || e.id > f.afterId) && matches(e, term, f.active),
    );
    if (!fresh.length) return found;
    return [...found, ...fresh].sort(byId).slice(0, f.limit);
  }

  /** search's walk of the index, leaving out the items in `skip`. */
  private walk(
    term: string,
    f: { active?: boolean; afterId?: string; limit: number },
    skip: ReadonlySet<string> | undefined,
  ): Entry[] {
    if (term.length < 3 && !this.shortCounts.get(term)) return [];
    // Candidates: the rarest trigram's items (every item for terms shorter than a trigram).
    let candidates = this.all;
    for (const g of trigrams(term)) {
      const list = this.postings.get(g);
      if (!list) return [];
      if (list.length < candidates.length) candidates = list;
    }
    const [low, high] = signature(term);
    const signatures = this.signatures;
    const found: Entry[] = [];
    for (
      let i = this.after(candidates, f.afterId);
      i < candidates.length && found.length < f.limit;
      i++
    ) {
      const handle = candidates[i];
      if ((signatures[2 * handle] & low) !== low || (signatures[2 * handle + 1] & high) !== high)
        continue;
      const entry = this.entries[handle];
      if (matches(entry, term, f.active) && !skip?.has(entry.id)) found.push(entry);
    }
    return found;
  }
}

/** Tells every instance's index that an item changed; delivered only if the writer's transaction commits. */
export async function notifyItemChanged(db: Db, id: string): Promise<void> {
  await db`SELECT pg_notify(${ITEMS_CHANNEL}, ${id})`;
}
