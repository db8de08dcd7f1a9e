import { condition, defineQuery, defineUpdate, setHandler } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { Activities } from '../activities';
import { checklistOf, defineSaga } from '../saga/definition';
import { SagaFrame, type FramedStatus } from '../saga/frame';
import { notStarted } from '../saga/runtime';
import { CustomerIdKey, OrderIdKey, ReturnIdKey, ReturnStatusKey } from '../saga/search-attributes';

export interface ReturnSagaInput {
  returnId: string;
  /** A confirmed order of the same customer; the return covers all of it. */
  orderId: string;
  customerId: string;
  reason: string;
  correlationId: string;
  /** How long the saga waits for the goods to arrive before it cancels the return. */
  goodsTimeout: Duration;
  /** Per-step deadline overrides (step name → duration); the table's deadlines otherwise. */
  stepDeadlines?: Partial<Record<ReturnStepName, Duration>>;
}

export type ReturnSagaStatusName =
  'OPENING' | 'AWAITING_GOODS' | 'REFUNDING' | 'COMPLETED' | 'CANCELLING' | 'CANCELLED';

/** The `status` query: the saga's progress, status, cancel and failure, and what this saga adds. */
export interface ReturnSagaStatus extends FramedStatus<ReturnSagaStatusName> {
  returnId: string;
  orderId: string;
  amountCents: number | null;
  trackingId: string | null;
}

export interface ReturnSagaResult {
  returnId: string;
  status: 'COMPLETED' | 'CANCELLED';
  reason?: string;
  failedStep?: string | null;
}

export const returnStatusQuery = defineQuery<ReturnSagaStatus>('status');
export interface ReturnActorRequest {
  /** Who acts (the API key's name); recorded in the return's events. */
  by?: string;
  reason?: string;
}
export const cancelReturnUpdate = defineUpdate<ReturnSagaStatus, [ReturnActorRequest]>('cancelReturn');
export const receiveGoodsUpdate = defineUpdate<ReturnSagaStatus, [ReturnActorRequest]>('receiveGoods');

export interface ReturnSagaState {
  cancelRequest: { reason: string; by: string | null } | null;
  received: { by: string | null } | null;
  setStatus: (status: ReturnSagaStatusName) => void;
  report: (fields: Partial<Pick<ReturnSagaStatus, 'amountCents' | 'trackingId'>>) => void;
}

/**
 * Order returns as a table: open the return → schedule the pickup → receive the goods (an
 * operator's update, with a durable timeout) → refund the payment → restock → complete. Until
 * the goods arrive, a failure, a customer cancel or the timeout cancels the pickup and the
 * return. Once they are back, money and stock must follow: those steps are retriable, so any
 * failure (a passed deadline or a business error) waits for an operator to retry them.
 */
export const RETURN_SAGA = defineSaga<ReturnSagaInput, ReturnSagaState, Activities, { returnId: string }>({
  name: 'returnSaga',
  description: 'Returns a confirmed order: pickup, goods received, refund, restock.',
  commandFields: (input) => ({ returnId: input.returnId }),
  causationOf: (input) => input.correlationId,
  stopRequested: ({ state }) => state.cancelRequest,
  steps: [
    {
      name: 'openReturn',
      activity: 'openReturn',
      summary: ({ input }) => `Open a return of order ${input.orderId}`,
      input: ({ input }) => ({ orderId: input.orderId, customerId: input.customerId, reason: input.reason }),
      after: ({ state }, result) => state.report({ amountCents: result.amountCents }),
    },
    {
      name: 'schedulePickup',
      activity: 'schedulePickup',
      summary: 'Schedule the pickup with the carrier',
      compensation: { activity: 'cancelPickup', summary: 'Cancel the pickup' },
      after: ({ state }, result) => {
        state.report({ trackingId: result.trackingId });
        state.setStatus('AWAITING_GOODS');
      },
    },
    {
      name: 'receiveGoods',
      activity: 'receiveGoods',
      summary: 'Record the goods as received',
      input: ({ state }) => ({ receivedBy: state.received?.by ?? null }),
      // A durable wait for the warehouse; a cancel or the timeout stops the return here.
      before: async ({ input, state }, control) => {
        const arrived = await condition(
          () => state.received !== null || state.cancelRequest !== null,
          input.goodsTimeout,
        );
        control.stopIfRequested('receiveGoods');
        if (!arrived) control.stop('goods_not_received', 'receiveGoods');
      },
      after: ({ state }) => state.setStatus('REFUNDING'),
    },
    {
      name: 'refundReturn',
      activity: 'refundReturn',
      summary: 'Refund the payment',
      // The goods are back (the pivot): the customer must get the money. Any failure from here
      // on waits for an operator, who retries once the cause is fixed; nothing is undone.
      onDeadline: 'escalate',
      retriable: true,
    },
    {
      name: 'restockReturn',
      activity: 'restockReturn',
      summary: 'Put the goods back in stock',
      onDeadline: 'escalate',
      retriable: true,
    },
    {
      name: 'completeReturn',
      activity: 'completeReturn',
      summary: 'Complete the return',
      onDeadline: 'escalate',
      retriable: true,
    },
  ],
  onStop: {
    activity: 'cancelReturn',
    describe: 'after a refused return, a failed pickup, a customer cancel or goods that never arrived',
    summary: (_ctx, stop) => `Cancel the return: ${stop.reason}`,
    input: ({ input }, stop) => ({
      reason: stop.reason,
      failedStep: stop.failedStep,
      requestedBy: stop.by,
      // When openReturn never succeeded, the stop records return.not_opened for this order and customer.
      orderId: input.orderId,
      customerId: input.customerId,
    }),
  },
});

export type ReturnStepName = (typeof RETURN_SAGA.steps)[number]['name'];

/** The UI checklist items, in order. */
export const RETURN_STEPS = checklistOf(RETURN_SAGA).map((c) => c.item);

/** The return saga's workflow: the table above plus its handlers (status, cancel, goods received). */
export async function returnSaga(input: ReturnSagaInput): Promise<ReturnSagaResult> {
  const status: ReturnSagaStatus = {
    returnId: input.returnId,
    orderId: input.orderId,
    status: 'OPENING',
    ...notStarted(),
    amountCents: null,
    trackingId: null,
    cancelRequested: false,
    failure: null,
  };
  const frame = new SagaFrame<ReturnSagaInput, ReturnSagaState, ReturnSagaStatusName, ReturnSagaStatus>(status, {
    statusAttribute: ReturnStatusKey,
    header: () => `**Return** ${input.returnId} of order ${input.orderId} — **${status.status}**`,
    names: { stopping: 'CANCELLING', completed: 'COMPLETED', stopped: 'CANCELLED' },
  });
  const state: ReturnSagaState = {
    cancelRequest: null,
    received: null,
    setStatus: (next) => frame.setStatus(next),
    report: (fields) => {
      Object.assign(status, fields);
      frame.render();
    },
  };
  frame.start(RETURN_SAGA, input, state, {
    deadlines: input.stepDeadlines,
    attributes: [
      { key: ReturnIdKey, value: input.returnId },
      { key: OrderIdKey, value: input.orderId },
      { key: CustomerIdKey, value: input.customerId },
    ],
    status: 'OPENING',
  });

  frame.handleStatusQuery(returnStatusQuery, 'Live return state: step, completed steps, compensations, failure.');
  frame.handleCancel(cancelReturnUpdate, {
    state,
    requestOf: (request: ReturnActorRequest) => ({
      reason: request?.reason ?? 'cancelled_by_customer',
      by: request?.by ?? null,
    }),
    refusal: () => {
      if (status.status === 'CANCELLED' || status.status === 'CANCELLING') return 'The return is already cancelled';
      if (state.received || status.completedSteps.includes('receiveGoods'))
        return 'The goods are already received; the return can no longer be cancelled';
      return undefined;
    },
    description: 'Customer cancel: cancels the pickup and the return; refused once the goods are received.',
  });
  setHandler(
    receiveGoodsUpdate,
    (request: ReturnActorRequest) => {
      state.received = { by: request?.by ?? null };
      return status;
    },
    {
      description: 'Warehouse: the returned goods arrived; the refund and restock follow.',
      validator: (_request: ReturnActorRequest) => {
        if (status.status !== 'AWAITING_GOODS' || state.received || state.cancelRequest)
          throw new Error('The return is not waiting for goods');
      },
    },
  );

  const outcome = await frame.execute();
  if (outcome.completed) return { returnId: input.returnId, status: 'COMPLETED' };
  const { reason, failedStep } = outcome.stop;
  return { returnId: input.returnId, status: 'CANCELLED', reason, failedStep };
}
