import type { FastifyError, FastifyInstance } from 'fastify';
import { z } from 'zod';
import { EventSchemaViolationError, UnknownEventTypeError, UnknownEventVersionError } from '../events/errors';

export interface FieldError {
  field: string;
  message: string;
}

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

type HttpError = Error & { statusCode?: number; fieldErrors?: FieldError[]; validation?: unknown };

/** Maps errors to JSON answers; anything unexpected is logged and answered 500 without internals. */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: HttpError | FastifyError, request, reply) => {
    const error = err as HttpError;
    const status = error.statusCode ?? 500;
    if (
      error instanceof UnknownEventTypeError ||
      error instanceof UnknownEventVersionError ||
      error instanceof EventSchemaViolationError
    ) {
      // Stored data this code cannot read: say which event, without internals.
      request.log.error({ err }, 'unreadable event');
      return reply.status(500).send({ error: error.name, message: error.message });
    }
    if (status >= 500) {
      request.log.error({ err }, 'request failed');
      return reply.status(status).send({ error: 'InternalError', message: 'Internal server error' });
    }
    // fastify's own 4xx (unparseable JSON, wrong content type, body too large)
    const name =
      error instanceof ValidationError || error instanceof NotFoundError || error instanceof ConflictError
        ? error.name
        : 'BadRequest';
    return reply.status(status).send({
      error: name,
      message: error.message,
      ...(error.fieldErrors ? { fieldErrors: error.fieldErrors } : {}),
    });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: 'NotFound', message: `No route ${request.method} ${request.url}` }),
  );
}
