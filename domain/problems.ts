// The one error type of the API. Anything thrown that is not a ProblemError becomes a 500
// whose body says nothing about the cause (the cause is logged with the request id).
import { problemTypes, type ProblemSlug } from '../generated/problems.ts';

export type { ProblemSlug };

export interface FieldError {
  pointer: string;
  detail: string;
  code: string;
}

export class ProblemError extends Error {
  readonly slug: ProblemSlug;
  readonly status: number;
  readonly extensions: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    slug: ProblemSlug,
    detail: string,
    extensions: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) {
    super(detail);
    this.slug = slug;
    this.status = problemTypes[slug].status;
    this.extensions = extensions;
    this.headers = headers;
  }

  /** The RFC 9457 body for this problem at `instance`. */
  body(instance: string, requestId: string): Record<string, unknown> {
    const type = problemTypes[this.slug];
    return {
      type: type.uri,
      title: type.title,
      status: this.status,
      detail: this.message,
      instance,
      request_id: requestId,
      ...this.extensions,
    };
  }
}

/** 422 validation-error for one or more fields. */
export function invalid(errors: FieldError[]): ProblemError {
  const detail =
    errors.length === 1
      ? `${errors[0].pointer.slice(2) || 'The request'}: ${errors[0].detail}`
      : `The request has ${errors.length} invalid fields.`;
  return new ProblemError('validation-error', detail, { errors });
}

/** 422 for a single field, the common case of business validation. */
export function invalidField(pointer: string, code: string, detail: string): ProblemError {
  return invalid([{ pointer, code, detail }]);
}

export function notFound(what: string, id: string): ProblemError {
  return new ProblemError('not-found', `No ${what} ${id} exists.`);
}

export function invalidState(
  what: string,
  id: string,
  current: string,
  allowed: string[],
  action: string,
): ProblemError {
  return new ProblemError(
    'invalid-state',
    `${what} ${id} is ${current}; it can be ${action} only when ${allowed.join(' or ')}.`,
    {
      current_status: current,
      allowed_statuses: allowed,
    },
  );
}
