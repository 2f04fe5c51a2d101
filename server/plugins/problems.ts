// docs/standards.md §1: every error from every layer leaves as application/problem+json. Fastify's own
// errors (body parsing, size, schema validation), thrown ProblemErrors, unknown routes and
// unexpected exceptions all pass through here; a 500 never shows its cause to the client.
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ProblemError, invalid, type FieldError } from '../../domain/problems.ts';
import { operations } from '../spec.ts';
import { isUnavailable } from '../../db/client.ts';

const MAX_REPORTED_ERRORS = 20;

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, any>;
}

/** One JSON Pointer reference token (RFC 6901). */
export function escapePointer(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Maps a schema validation failure to the problem it stands for. */
function validationProblem(errors: AjvError[], context: string): ProblemError {
  if (context === 'headers') {
    const missing = errors.find((e) => e.keyword === 'required')?.params.missingProperty;
    if (missing === 'idempotency-key')
      return new ProblemError(
        'idempotency-key-missing',
        'This operation requires an Idempotency-Key header (a UUID is recommended).',
      );
    if (missing === 'if-match')
      return new ProblemError(
        'precondition-required',
        "This operation requires an If-Match header with the resource's current ETag.",
      );
  }
  if (context === 'params')
    return new ProblemError('not-found', 'No resource exists at this path.');
  const prefix = context === 'body' ? '#' : context === 'querystring' ? '#/query' : '#/headers';
  const fieldErrors: FieldError[] = errors.slice(0, MAX_REPORTED_ERRORS).map((e) => {
    let path = e.instancePath;
    if (e.keyword === 'required') path += `/${escapePointer(e.params.missingProperty)}`;
    if (e.keyword === 'additionalProperties')
      path += `/${escapePointer(e.params.additionalProperty)}`;
    const detail =
      e.keyword === 'additionalProperties'
        ? 'is not a known field'
        : e.keyword === 'required'
          ? 'is required'
          : (e.message ?? 'is invalid');
    return { pointer: prefix + path, detail, code: e.keyword };
  });
  return invalid(fieldErrors);
}

/** Turns anything thrown into a ProblemError; `null` means an unexpected failure (500). */
export function toProblem(
  err: FastifyError & { code?: string; validation?: AjvError[]; validationContext?: string },
): ProblemError | null {
  if (err instanceof ProblemError) return err;
  if (err.validation) return validationProblem(err.validation, err.validationContext ?? 'body');
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ProblemError('payload-too-large', 'The request body exceeds 1 MiB.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ProblemError('malformed-request', 'Send the body as application/json.');
  }
  if (isUnavailable(err))
    return new ProblemError(
      'service-unavailable',
      'The database is unavailable. Retry shortly with the same Idempotency-Key: a write that committed before the connection was lost is answered by its original response, never applied twice.',
      {},
      { 'Retry-After': '1' },
    );
  if (err.statusCode === 400 && err instanceof SyntaxError)
    return new ProblemError('malformed-request', `The body is not valid JSON: ${err.message}`);
  if (err.statusCode === 400 && err.code?.startsWith('FST_'))
    return new ProblemError('malformed-request', err.message);
  return null;
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, problem: ProblemError) {
  for (const [name, value] of Object.entries(problem.headers)) reply.header(name, value);
  return reply
    .code(problem.status)
    .type('application/problem+json')
    .send(problem.body(request.url.split('?')[0], request.id));
}

/**
 * Fastify's `frameworkErrors`: the router's own refusals, before any route or hook runs — a path
 * that is not valid percent-encoded UTF-8, or a path parameter over 100 characters (no id is that
 * long, so nothing is there: 404 as for any unknown id).
 */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  let problem: ProblemError;
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH')
    problem = new ProblemError(
      'not-found',
      'No resource has an id this long (over 100 characters).',
    );
  else if (err.code === 'FST_ERR_BAD_URL')
    problem = new ProblemError('malformed-request', 'The path is not valid percent-encoded UTF-8.');
  else {
    // No route uses async constraints, the one other error the router reports this way.
    request.log.error({ err }, 'unexpected router error');
    problem = new ProblemError(
      'internal-error',
      `Something went wrong on our side. Quote request id ${request.id} if you contact us.`,
    );
  }
  reply.header('X-Request-Id', request.id);
  return sendProblem(request, reply, problem);
}

/**
 * Fastify's `clientErrorHandler`: requests Node's HTTP parser refused before Fastify saw them (a
 * header with characters HTTP does not allow, headers over 16 KiB, a request that never arrived
 * whole). There is no request to answer through, so the problem is written to the socket; its
 * request id is minted here, as no header of the request was read.
 */
export function clientErrorHandler(
  this: FastifyInstance,
  err: NodeJS.ErrnoException,
  socket: Socket,
) {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  // Mostly network noise or a load balancer's probe, as Fastify's own handler judges it.
  this.log.trace({ err }, 'client error');
  const problem =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new ProblemError('request-timeout', 'The request did not arrive in time.')
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? new ProblemError('request-header-too-large', 'The request headers exceed 16 KiB.')
        : new ProblemError(
            'malformed-request',
            'The request is not valid HTTP/1.1 (e.g. a header holds characters HTTP does not allow).',
          );
  const requestId = randomUUID();
  const body = JSON.stringify(problem.body('', requestId));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}\r\nContent-Type: application/problem+json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

/** Path templates of the spec as regexes, to tell 405 (path exists) from 404. */
const templates = [...new Set([...operations.values()].map((o) => o.path))].map((path) => ({
  regex: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}/?$`),
  methods: [...operations.values()].filter((o) => o.path === path).map((o) => o.method),
}));

/** For unknown routes: 405 with Allow when the path exists under another method, else 404. */
export async function notFoundHandler(request: FastifyRequest, reply: FastifyReply) {
  const path = request.url.split('?')[0];
  const known = templates.find((t) => t.regex.test(path));
  if (known && !known.methods.includes(request.method)) {
    reply.header('Allow', known.methods.join(', '));
    return sendProblem(
      request,
      reply,
      new ProblemError(
        'method-not-allowed',
        `${request.method} is not supported on ${path}; use ${known.methods.join(', ')}.`,
      ),
    );
  }
  return sendProblem(
    request,
    reply,
    new ProblemError('not-found', `No route ${request.method} ${path}.`),
  );
}

export default fp(
  async function problems(app: FastifyInstance) {
    app.setErrorHandler(async (err: FastifyError, request, reply) => {
      const problem = toProblem(err);
      if (problem) {
        // A server-side failure is logged with its cause. Not `overloaded`: that is the server
        // shedding load, already in the access log, and a stack each would cost most when busiest.
        if (problem.status >= 500 && problem.slug !== 'overloaded')
          request.log.warn({ err }, problem.message);
        return sendProblem(request, reply, problem);
      }
      request.log.error({ err }, 'unhandled error');
      return sendProblem(
        request,
        reply,
        new ProblemError(
          'internal-error',
          `Something went wrong on our side. Quote request id ${request.id} if you contact us.`,
        ),
      );
    });

    // Problem documents are responses only; a request body in that type is refused like any non-JSON body.
    app.addContentTypeParser('application/problem+json', (_req, _payload, done) =>
      done(new ProblemError('malformed-request', 'Send the body as application/json.'), undefined),
    );
  },
  { name: 'problems' },
);
