import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';

export interface OrderSagaInput {
  orderId: string;
  customerId: string;
  items: { sku: string; quantity: number }[];
  correlationId: string;
}

export interface OrderSagaResult {
  orderId: string;
  status: 'CREATED';
}

const { createOrder } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '10 seconds' },
});

/** The order lifecycle. Every step's command id derives from the workflow id, so it is stable across retries and replays. */
export async function orderSaga(input: OrderSagaInput): Promise<OrderSagaResult> {
  const { workflowId } = workflowInfo();
  await createOrder({
    commandId: `${workflowId}/create-order`,
    orderId: input.orderId,
    customerId: input.customerId,
    items: input.items,
    correlationId: input.correlationId,
  });
  return { orderId: input.orderId, status: 'CREATED' };
}
