import { createHash, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CustomerIdKey, OrderIdKey, OrderStatusKey, SagaPhaseKey } from '../../../saga/search-attributes';
import type { OrderSagaInput } from '../../../workflows';
import { currentCorrelation } from '../../../correlation/context';
import type { ApiDeps } from '../../deps';
import { startOnce } from '../../start-once';
import { idempotencyKeyHeader, problems } from '../../schemas';
// The `ordersPlaced` counter this route counts with is declared (on FastifyInstance) there.
import type {} from '../../metrics';

export const placeOrderBody = z.object({
  customerId: z.string().trim().min(1).max(100),
  items: z
    .array(
      z.object({
        sku: z.string().trim().min(1).max(64),
        quantity: z.number().int().positive().max(1000),
      }),
    )
    .min(1)
    .max(100),
  payment: z.object({ token: z.string().trim().min(1).max(200) }),
  shippingAddress: z.object({
    line1: z.string().trim().min(1).max(200),
    city: z.string().trim().min(1).max(100),
    postalCode: z.string().trim().min(1).max(20),
    country: z
      .string()
      .trim()
      .regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code, e.g. DE'),
  }),
});
export type PlaceOrderBody = z.infer<typeof placeOrderBody>;

const headers = z.looseObject({
  'idempotency-key': idempotencyKeyHeader('order'),
  'x-correlation-id': z
    .string()
    .max(200)
    .optional()
    .describe('Joins the order to your request chain; created when absent'),
});

const placed = z.object({
  orderId: z.uuid(),
  workflowId: z.string().describe('The Temporal workflow id, `order-<orderId>`'),
  correlationId: z.string(),
});

export const workflowIdFor = (orderId: string) => `order-${orderId}`;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** A stable UUID (v8 layout) for a customer's Idempotency-Key, so a repeat maps to the same workflow id. */
export function orderIdForIdempotencyKey(customerId: string, key: string): string {
  const h = sha256(`${customerId}\u0000${key}`);
  const variant = ((Number.parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function placeOrderRoute(app: FastifyInstance, deps: ApiDeps): void {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/orders',
    {
      config: { access: 'customer' },
      schema: {
        tags: ['orders'],
        summary: 'Place an order: starts its saga',
        headers,
        body: placeOrderBody,
        response: { 202: placed, ...problems(400, 409, 429, 500, 503) },
      },
    },
    async (request, reply) => {
      const h = request.headers;
      const body = request.body;
      const correlationId = currentCorrelation()?.correlationId ?? randomUUID();
      const idempotencyKey = h['idempotency-key'];
      const orderId = idempotencyKey ? orderIdForIdempotencyKey(body.customerId, idempotencyKey) : randomUUID();
      const workflowId = workflowIdFor(orderId);
      const requestHash = sha256(JSON.stringify(body));
      const input: OrderSagaInput = {
        orderId,
        customerId: body.customerId,
        items: body.items,
        paymentToken: body.payment.token,
        shippingAddress: body.shippingAddress,
        correlationId,
        approvalThresholdCents: deps.orders.approvalThresholdCents,
        approvalTimeout: deps.orders.approvalTimeout,
        ...(deps.orders.stepDeadlines ? { stepDeadlines: deps.orders.stepDeadlines } : {}),
      };
      const units = body.items.reduce((n, i) => n + i.quantity, 0);

      const start = await startOnce(
        deps.temporal,
        'orderSaga',
        {
          workflowId,
          taskQueue: deps.taskQueue,
          args: [input],
          staticSummary: `Order for ${body.customerId}: ${units} unit(s) of ${body.items.length} SKU(s), ship to ${body.shippingAddress.city} ${body.shippingAddress.country}`,
          // Set at start so the order is searchable before its first workflow task runs.
          typedSearchAttributes: [
            { key: OrderIdKey, value: orderId },
            { key: CustomerIdKey, value: body.customerId },
            { key: OrderStatusKey, value: 'PENDING' },
            { key: SagaPhaseKey, value: 'RUNNING' },
          ],
        },
        { correlationId, requestHash },
      );
      // Same Idempotency-Key again: the order it created the first time.
      if (start.started) app.ordersPlaced.inc();
      return reply
        .status(202)
        .header('x-correlation-id', start.correlationId)
        .send({ orderId, workflowId, correlationId: start.correlationId });
    },
  );
}
