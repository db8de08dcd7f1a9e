import { z } from 'zod';
import { RETURN_STATUSES } from '../domain/return';
import { NOTIFICATION_KINDS } from '../consumers/notifier';
import { problemSchema, type ProblemCode } from './errors';

/**
 * Shapes of the HTTP API, declared once: fastify validates requests and serializes responses
 * with them (fastify-type-provider-zod), TypeScript infers handler types from them, and the
 * OpenAPI document at /docs/json is generated from them.
 */

/**
 * Free text an operator or client writes (a reason, a note): trimmed, bounded, and without NUL,
 * which PostgreSQL cannot store (refused here rather than failing later in a saga or the audit).
 */
export const freeText = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(/^[^\u0000]*$/, 'must not contain NUL characters');

export const orderIdParams = z.object({ orderId: z.uuid('must be a UUID').describe('The order id (a UUID)') });

/**
 * Problem responses a route gives of its own accord (404, 409 …), by status. The ones every
 * route of its kind may give (400, 401/403 by access, 413/415 with a body, 414 with path
 * parameters, 429, 500, 503) are added to the OpenAPI document in one place (openapi.ts),
 * each described with the problem codes it carries.
 */
export const problems = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, problemSchema]));

export type { ProblemCode };

export const envelopeSchema = z
  .object({
    eventId: z.uuid(),
    eventType: z.string(),
    aggregateId: z.string(),
    aggregateType: z.string(),
    occurredAt: z.string(),
    version: z.number().int(),
    schemaVersion: z.number().int(),
    correlationId: z.string().nullable(),
    causationId: z.string().nullable(),
    payload: z.record(z.string(), z.unknown()),
  })
  .describe('An event envelope, its payload upcast to the newest schema version');

/** What every saga's `status` query reports (SagaFrame's FramedStatus): progress, status, cancel, failure. */
export const framedStatusFields = {
  status: z.string(),
  step: z.string().nullable(),
  completedSteps: z.array(z.string()),
  compensations: z.array(z.object({ step: z.string(), status: z.string() })),
  sagaPhase: z.string(),
  stuck: z.array(z.unknown()),
  stuckStep: z.unknown().nullable().optional().describe('A forward step past its deadline, waiting for an operator'),
  cancelRequested: z.boolean(),
  failure: z.object({ reason: z.string(), failedStep: z.string().nullable() }).nullable(),
};

export const sagaStatusSchema = z
  .object({ orderId: z.string(), ...framedStatusFields, totalCents: z.number().nullable() })
  .describe('The live state of the saga (its `status` query)');

export const orderSummarySchema = z
  .looseObject({
    orderId: z.uuid(),
    workflowId: z.string(),
    customerId: z.string(),
    status: z.enum(['PENDING', 'AWAITING_APPROVAL', 'CONFIRMED', 'CANCELLED']),
    sagaPhase: z.enum(['RUNNING', 'COMPENSATING', 'COMPENSATED', 'COMPLETED']),
    version: z.number().int(),
    createdAt: z.string(),
    timeline: z.array(
      z.object({
        type: z.string(),
        version: z.number().int(),
        at: z.string(),
        returnId: z
          .uuid()
          .optional()
          .describe("Set on a return's events: `version` is then the version in that return's stream"),
      }),
    ),
    returnId: z.uuid().nullable().optional().describe("The order's latest return (null: none)"),
    returnStatus: z
      .enum(RETURN_STATUSES)
      .nullable()
      .optional()
      .describe("The latest return's status (null: no return)"),
    refundedCents: z
      .number()
      .int()
      .nullable()
      .optional()
      .describe('What the latest return refunded so far, in cents (null: no return)'),
    freshness: z.object({
      streamVersion: z.number().int(),
      position: z.number().int(),
      lastEventAt: z.string(),
      updatedAt: z.string(),
    }),
  })
  .describe(
    "An order from the read model, with the aggregate state fields (items, lines, payment, shipment …) and its latest return's",
  );

export const deadLetterSchema = z.object({
  id: z.number().int(),
  consumer: z.string(),
  eventId: z.string(),
  streamId: z.string(),
  globalPosition: z.number().int(),
  eventType: z.string(),
  schemaVersion: z.number().int(),
  status: z.enum(['open', 'parked', 'replayed', 'discarded']),
  reason: z.string(),
  error: z.string(),
  attempts: z.number().int(),
  firstFailedAt: z.string(),
  lastFailedAt: z.string(),
  resolvedAt: z.string().nullable(),
});

export const deadLetterDetailSchema = deadLetterSchema.extend({
  stack: z.string().nullable(),
  event: z.unknown(),
  actions: z.array(
    z.object({
      action: z.string(),
      actor: z.string(),
      outcome: z.string(),
      detail: z.string().nullable(),
      actedAt: z.string(),
    }),
  ),
});

export const actionResultSchema = z.object({
  deadLetter: deadLetterDetailSchema,
  outcome: z.enum(['applied', 'duplicate', 'failed', 'discarded']),
  error: z.string().optional(),
  released: z.array(
    z.object({
      id: z.number().int(),
      outcome: z.enum(['applied', 'duplicate', 'failed']),
      error: z.string().optional(),
    }),
  ),
});

/** One message the notifier sent a customer. */
export const notificationSchema = z.object({
  id: z.number().int(),
  eventId: z.string(),
  orderId: z.string(),
  customerId: z.string(),
  kind: z.enum(NOTIFICATION_KINDS),
  message: z.string(),
  createdAt: z.string(),
});

/** The `Idempotency-Key` header: repeating a request with it gives back the same `what`. */
export const idempotencyKeyHeader = (what: string) =>
  z
    .string()
    .trim()
    .min(1)
    .max(200)
    .optional()
    .describe(`Repeat the request with the same key to get the same ${what} back`);
