// How response bodies become JSON: JSON.stringify, except for a list page whose rows all carry
// their JSON already (`withJson`), which is assembled from those texts. Item search presents the
// same long-lived index rows thousands of times a second; stringifying them anew each time was a
// tenth of a search's CPU.
//
// The text rides on the object under a symbol, which JSON.stringify, Object.keys and schema
// validation all skip. (A WeakMap from object to text made searches ~10% slower instead: V8's
// garbage collector pays for every entry of a large WeakMap.)
import { PageBody } from './pages.ts';

const TEXT = Symbol('json');
type Carrying = { [TEXT]?: string };

/** Attaches the value's JSON (made before, or now) to it; the value must not change afterwards. */
export function withJson<T extends object>(value: T, text = JSON.stringify(value)): T {
  (value as Carrying)[TEXT] = text;
  return value;
}

/**
 * The same text as one flat string, for a text kept for long. V8's JSON.stringify answers a text
 * of more than a few dozen characters as a chain of the parts it built it from: an item's JSON of
 * ~250 characters carried ~144 bytes of links besides, kept as long as the text and walked again
 * by every write of it. Decoding its UTF-8 makes the text anew in one piece (JSON.stringify's
 * output is well-formed, so nothing is lost on the way).
 */
export function inOnePiece(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

export function serialize(body: unknown): string {
  if (body instanceof PageBody) {
    const rows: string[] = [];
    for (const row of body.data) {
      const text = (row as Carrying)[TEXT];
      if (text === undefined) return JSON.stringify(body);
      rows.push(text);
    }
    return `{"data":[${rows.join(',')}],"page":${JSON.stringify(body.page)}}`;
  }
  return JSON.stringify(body);
}
