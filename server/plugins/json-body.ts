// Request bodies are JSON, and what they may hold is bounded before any code walks them
// (docs/standards.md §1): nesting deeper than MAX_DEPTH is 400 `malformed-request`, found by one
// pass over the text before it is parsed, so no recursive walk (validation, fingerprints) ever
// meets a deep value; text PostgreSQL cannot store (NUL, a lone UTF-16 surrogate) is 422 naming
// the field, for bodies, query strings and path parameters of every operation.
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
} from 'fastify';
import fp from 'fastify-plugin';
import { ProblemError, invalid } from '../../domain/problems.ts';
import { escapePointer } from './problems.ts';

export const MAX_DEPTH = 64;

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Whether the body's text holds a `\u` escape: decoded from UTF-8, it can hold NUL or half of
     * a surrogate pair only through one, so a body without any needs no walk (checkInput).
     */
    bodyHasEscapes: boolean;
  }
}

/** Whether a JSON text nests arrays and objects deeper than `max`; one pass, no parse. */
export function nestedDeeperThan(text: string, max: number): boolean {
  if (text.length <= max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash escapes the next character, a quote included
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

// PostgreSQL's text and jsonb hold neither NUL nor half of a surrogate pair (which has no UTF-8
// form), and JSON's \u escapes can express both.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function unstorable(text: string): { code: string; detail: string } | null {
  if (text.includes('\u0000'))
    return { code: 'nul_character', detail: 'must not contain the NUL character (U+0000)' };
  if (LONE_SURROGATE.test(text))
    return {
      code: 'lone_surrogate',
      detail: 'must be valid Unicode: it holds half of a UTF-16 surrogate pair',
    };
  return null;
}

/**
 * The first string, in document order, that cannot be stored (a value or a key), with its JSON
 * Pointer under `pointer`. The walk is iterative; a pointer is built only for a string found,
 * from the chain of keys that led to it (as deep as the value: MAX_DEPTH at most for a body).
 */
export function findUnstorable(
  value: unknown,
  pointer: string,
): { pointer: string; code: string; detail: string } | null {
  // The way to a value: its key, and the way to its container (null: the root).
  type Step = { key: string; parent: Step | null };
  const pointerOf = (step: Step | null): string =>
    step === null ? pointer : `${pointerOf(step.parent)}/${escapePointer(step.key)}`;
  const stack: [unknown, Step | null][] = [[value, null]];
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [v, step] = next;
    // A member's key comes before its value.
    const found = (step && unstorable(step.key)) || (typeof v === 'string' && unstorable(v));
    if (found) return { pointer: pointerOf(step), ...found };
    if (v && typeof v === 'object') {
      // Last pushed, first visited: children go on the stack in reverse.
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--)
        stack.push([(v as Record<string, unknown>)[keys[i]], { key: keys[i], parent: step }]);
    }
  }
  return null;
}

/**
 * Checks the schemas cannot express, in preValidation: a required body must be there (Fastify
 * validates nothing when no body was sent, as body schemas are keyed by media type), and every
 * text must be storable.
 */
export function checkInput(
  request: FastifyRequest,
  _reply: FastifyReply,
  done: HookHandlerDoneFunction,
) {
  if (request.routeOptions.config.operation?.bodyRequired && request.body === undefined) {
    throw invalid([{ pointer: '#', code: 'required', detail: 'a JSON request body is required' }]);
  }
  const found =
    (request.bodyHasEscapes ? findUnstorable(request.body, '#') : null) ??
    findUnstorable(request.query, '#/query') ??
    findUnstorable(request.params, '#/path');
  if (found) throw invalid([found]);
  done();
}

export default fp(
  async function jsonBody(app: FastifyInstance) {
    app.decorateRequest('bodyHasEscapes', false);
    // JSON only: Fastify would otherwise accept text/plain bodies, which no operation takes.
    app.removeContentTypeParser('text/plain');
    const parseJson = app.getDefaultJsonParser('error', 'error');
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      const text = body as string;
      // An empty body sent with Content-Type: application/json (common for POST actions) counts as
      // no body, rather than malformed JSON; operations that need one answer 422 (checkInput).
      if (text === '') return done(null, undefined);
      if (nestedDeeperThan(text, MAX_DEPTH)) {
        return done(
          new ProblemError(
            'malformed-request',
            `The body nests arrays or objects deeper than ${MAX_DEPTH} levels.`,
          ),
          undefined,
        );
      }
      request.bodyHasEscapes = text.includes('\\u');
      parseJson(request, text, done);
    });
  },
  { name: 'json-body' },
);
