import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { isGrpcServiceError } from '@temporalio/client';
import { isTransientDatabaseError } from '../store/transient-errors';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { currentCorrelation } from '../correlation/context';
import { EventSchemaViolationError, UnknownEventTypeError, UnknownEventVersionError } from '../events/errors';

/**
 * Every error answer is an RFC 9457 problem document (`application/problem+json`) with a
 * stable `type` and `code`, a `title`, a `detail` and, for validation, one entry per field.
 * Nothing internal (stack, SQL, paths) leaves the server; 5xx are logged with the correlation id.
 */

export interface FieldError {
  field: string;
  message: string;
}

/** The stable problem kinds this API answers with. `type` is `/problems/<code>`. */
export const PROBLEMS = {
  validation_failed: { status: 400, title: 'The request is invalid' },
  bad_request: { status: 400, title: 'The request could not be read' },
  unauthorized: { status: 401, title: 'An API key is required' },
  forbidden: { status: 403, title: 'This API key may not do this' },
  not_found: { status: 404, title: 'No such resource' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'The request conflicts with the current state' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  uri_too_long: { status: 414, title: 'The request URL is too long' },
  unsupported_media_type: { status: 415, title: 'Unsupported content type' },
  rate_limited: { status: 429, title: 'Too many requests' },
  unreadable_event: { status: 500, title: 'A stored event cannot be read' },
  internal: { status: 500, title: 'Internal server error' },
  unavailable: { status: 503, title: 'The service is overloaded or a dependency is down' },
  timeout: { status: 503, title: 'The request took too long' },
} as const;
export type ProblemCode = keyof typeof PROBLEMS;

export interface Problem {
  type: string;
  code: ProblemCode;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  correlationId?: string;
  fieldErrors?: FieldError[];
}

export const problemSchema = z.object({
  type: z.string(),
  code: z.enum(Object.keys(PROBLEMS) as [ProblemCode, ...ProblemCode[]]),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  instance: z.string().optional(),
  correlationId: z.string().optional(),
  fieldErrors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
});

/** The request is malformed; answered with 400 and one entry per offending field. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  readonly statusCode = 400;
  constructor(readonly fieldErrors: FieldError[]) {
    super(`Invalid request: ${fieldErrors.map((f) => `${f.field} ${f.message}`).join('; ')}`);
  }
}

/** A resource the request names does not exist. */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
  readonly statusCode = 404;
}

/** The request conflicts with the resource's state (e.g. an Idempotency-Key reused with another body). */
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
  readonly statusCode = 409;
}

export function parseWith<S extends z.ZodType>(schema: S, value: unknown, prefix = ''): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ValidationError(
    result.error.issues.map((i) => ({
      field: [prefix, ...i.path.map(String)].filter(Boolean).join('.') || '(body)',
      message: i.message,
    })),
  );
}

export function problem(code: ProblemCode, detail: string, extra: Partial<Problem> = {}): Problem {
  const { status, title } = PROBLEMS[code];
  const correlationId = currentCorrelation()?.correlationId;
  return {
    type: `/problems/${code.replace(/_/g, '-')}`,
    code,
    title,
    status,
    detail,
    ...(correlationId ? { correlationId } : {}),
    ...extra,
  };
}

export function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  return reply.status(p.status).header('content-type', 'application/problem+json; charset=utf-8').send(p);
}

/** Fastify's own client errors, by the status it gives them. */
const CLIENT_ERRORS: Partial<Record<number, ProblemCode>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  503: 'unavailable',
};

/** The problem kind for a client error fastify or a plugin answered with `status`. */
export const clientProblemCode = (status: number): ProblemCode => CLIENT_ERRORS[status] ?? 'bad_request';

type HttpError = Error & { statusCode?: number; fieldErrors?: FieldError[]; code?: string };

/** Maps every error to a problem document; anything unexpected is logged and answered without internals. */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: HttpError | FastifyError, request, reply) => {
    const error = err as HttpError;
    const instance = request.url.split('?')[0];
    if (
      error instanceof UnknownEventTypeError ||
      error instanceof UnknownEventVersionError ||
      error instanceof EventSchemaViolationError
    ) {
      // Stored data this code cannot read: say which event, without internals.
      request.log.error({ err }, 'unreadable event');
      return sendProblem(reply, problem('unreadable_event', error.message, { instance }));
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      // Declared route schemas: name each field the way parseWith does (params.x, query.x, body fields bare).
      const prefix = { body: '', params: 'params', querystring: 'query', headers: 'headers' }[
        (err as FastifyError).validationContext ?? 'body'
      ];
      const fieldErrors = err.validation.map((v) => ({
        field: [prefix, ...v.instancePath.split('/').filter(Boolean)].filter(Boolean).join('.') || '(body)',
        message: v.message ?? 'is invalid',
      }));
      return sendProblem(
        reply,
        problem('validation_failed', new ValidationError(fieldErrors).message, { instance, fieldErrors }),
      );
    }
    if (error instanceof ValidationError) {
      return sendProblem(
        reply,
        problem('validation_failed', error.message, { instance, fieldErrors: error.fieldErrors }),
      );
    }
    if (error instanceof NotFoundError) return sendProblem(reply, problem('not_found', error.message, { instance }));
    if (error instanceof ConflictError) return sendProblem(reply, problem('conflict', error.message, { instance }));
    if (dependencyDown(error)) {
      // PostgreSQL or Temporal unreachable (restarting, failing over): the request may be retried.
      request.log.warn({ err }, 'a dependency is unavailable');
      reply.header('retry-after', '1');
      return sendProblem(
        reply,
        problem('unavailable', 'PostgreSQL or Temporal is unavailable; retry shortly.', { instance, status: 503 }),
      );
    }
    const status = error.statusCode ?? 500;
    if (status < 500 || status === 503) {
      // fastify's and its plugins' own client errors (unparseable JSON, body too large, rate limit …);
      // a 4xx without a kind of its own keeps its status as a generic bad request.
      const code = CLIENT_ERRORS[status] ?? 'bad_request';
      return sendProblem(reply, problem(code, error.message, { instance, status }));
    }
    request.log.error({ err }, 'request failed');
    return sendProblem(
      reply,
      problem('internal', 'The request failed on the server; quote the correlation id when reporting it.', {
        instance,
      }),
    );
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      problem('not_found', `No route ${request.method} ${request.url.split('?')[0]}`, {
        instance: request.url.split('?')[0],
      }),
    ),
  );
}

/**
 * gRPC UNAVAILABLE: the Temporal frontend cannot be reached (the client retried already).
 * DEADLINE_EXCEEDED: it did not answer in time (a hung server, or one waiting on its own
 * hung database), so whether a start took effect is unknown: a retry with the same
 * Idempotency-Key finds out.
 */
const GRPC_DEPENDENCY_DOWN = new Set([4, 14]);

/** Whether `err` (or its cause) says a dependency is down rather than that the request is wrong. */
function dependencyDown(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (isTransientDatabaseError(e)) return true;
    if (isGrpcServiceError(e) && GRPC_DEPENDENCY_DOWN.has(e.code)) return true;
  }
  return false;
}
