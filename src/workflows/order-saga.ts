import { condition, defineQuery, defineUpdate, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { Activities } from '../activities';
import type { OrderLine, ShippingAddress } from '../domain/order';
import { checklistOf, defineSaga } from '../saga/definition';
import { SagaFrame, type FramedStatus } from '../saga/frame';
import { notStarted } from '../saga/runtime';
import { CustomerIdKey, OrderIdKey, OrderStatusKey, OrderTotalKey } from '../saga/search-attributes';

export interface OrderSagaInput {
  orderId: string;
  customerId: string;
  items: OrderLine[];
  paymentToken: string;
  shippingAddress: ShippingAddress;
  correlationId: string;
  /** Orders whose total exceeds this wait for approve/reject. */
  approvalThresholdCents: number;
  /** How long an order waits for approval before it is cancelled. */
  approvalTimeout: Duration;
  /** Per-step deadline overrides (step name → duration); the table's deadlines otherwise. */
  stepDeadlines?: Partial<Record<OrderStepName, Duration>>;
}

export type OrderSagaStatusName = 'PENDING' | 'AWAITING_APPROVAL' | 'CANCELLING' | 'CONFIRMED' | 'CANCELLED';

/** The `status` query: the saga's progress, status, cancel and failure, and what this saga adds. */
export interface OrderSagaStatus extends FramedStatus<OrderSagaStatusName> {
  orderId: string;
  totalCents: number | null;
}

export interface OrderSagaResult {
  orderId: string;
  status: 'CONFIRMED' | 'CANCELLED';
  reason?: string;
  failedStep?: string | null;
}

export const statusQuery = defineQuery<OrderSagaStatus>('status');
export interface ReasonRequest {
  reason?: string;
  /** Who asks (the API key's name); recorded in order.cancelled as `requestedBy`. */
  requestedBy?: string;
}
export interface ApproveRequest {
  /** Who decides (the API key's name); recorded in order.approved as `decidedBy`. */
  decidedBy?: string;
}
export const cancelOrderUpdate = defineUpdate<OrderSagaStatus, [ReasonRequest]>('cancelOrder');
// Updates sent before identities existed carried no argument: the handler takes it as optional.
export const approveUpdate = defineUpdate<OrderSagaStatus, [ApproveRequest]>('approve');
export const rejectUpdate = defineUpdate<OrderSagaStatus, [ReasonRequest]>('reject');

/** What the order saga keeps between steps (besides the status it reports). */
export interface OrderSagaState {
  totalCents: number;
  cancelRequest: { reason: string; by: string | null } | null;
  approvalDecision: { approved: boolean; reason?: string; by: string | null } | null;
  /** Report a status change (search attribute, status query, current details). */
  setStatus: (status: OrderSagaStatusName) => void;
  /** Report the reserved total. */
  setTotal: (totalCents: number) => void;
}

const money = (cents: number) => `${(cents / 100).toFixed(2)}`;

/**
 * The order lifecycle as a table: create → reserve inventory → authorize payment →
 * (approval above the threshold) → schedule shipment → capture payment → confirm. Any
 * failure, a customer cancel, a rejection, an approval timeout or a passed deadline
 * compensates every completed step (last first) and ends with order.cancelled (or
 * order.placement_failed when the order was never created). Once the shipment is scheduled
 * and money is being captured, a passed deadline escalates to an operator instead of undoing
 * a finished sale.
 */
export const ORDER_SAGA = defineSaga<OrderSagaInput, OrderSagaState, Activities, { orderId: string }>({
  name: 'orderSaga',
  description: 'Places an order: stock, payment, optional approval, shipment, capture.',
  commandFields: (input) => ({ orderId: input.orderId }),
  causationOf: (input) => input.correlationId,
  stopRequested: ({ state }) => state.cancelRequest,
  steps: [
    {
      name: 'createOrder',
      activity: 'createOrder',
      summary: ({ input }) => `Create order for ${input.customerId}`,
      input: ({ input }) => ({
        customerId: input.customerId,
        items: input.items,
        shippingAddress: input.shippingAddress,
      }),
    },
    {
      name: 'reserveInventory',
      activity: 'reserveInventory',
      summary: ({ input }) => `Reserve ${input.items.length} line(s) of stock`,
      compensation: { activity: 'releaseInventory', summary: 'Release reserved stock' },
      after: ({ state }, result) => state.setTotal(result.totalCents),
    },
    {
      name: 'authorizePayment',
      activity: 'authorizePayment',
      summary: ({ input, state }) => `Authorize ${money(state.totalCents)} on ${input.paymentToken}`,
      input: ({ input }) => ({ paymentToken: input.paymentToken }),
      compensation: { activity: 'voidPayment', summary: 'Void the payment authorization' },
    },
    {
      name: 'requestApproval',
      checklist: 'approval',
      activity: 'requestApproval',
      when: {
        describe: 'only when the reserved total exceeds the approval threshold',
        test: ({ input, state }) => state.totalCents > input.approvalThresholdCents,
      },
      summary: ({ input, state }) =>
        `Request approval: ${money(state.totalCents)} > ${money(input.approvalThresholdCents)}`,
      input: ({ input }) => ({ thresholdCents: input.approvalThresholdCents }),
      after: ({ state }) => state.setStatus('AWAITING_APPROVAL'),
    },
    {
      name: 'approveOrder',
      checklist: 'approval',
      activity: 'approveOrder',
      when: {
        describe: 'only when the reserved total exceeds the approval threshold',
        test: ({ input, state }) => state.totalCents > input.approvalThresholdCents,
      },
      summary: 'Record the approval',
      input: ({ state }) => ({ decidedBy: state.approvalDecision!.by }),
      // A durable wait for the operator's decision; a cancel, a rejection or the timeout stop here.
      before: async ({ input, state }, control) => {
        const decided = await condition(
          () => state.approvalDecision !== null || state.cancelRequest !== null,
          input.approvalTimeout,
        );
        control.stopIfRequested('approval');
        if (!decided) control.stop('approval_timed_out', 'approval');
        const decision = state.approvalDecision!;
        if (!decision.approved) control.stop(decision.reason ?? 'approval_rejected', 'approval', decision.by);
      },
      after: ({ state }) => state.setStatus('PENDING'),
    },
    {
      name: 'scheduleShipment',
      activity: 'scheduleShipment',
      summary: ({ input }) => `Schedule shipment to ${input.shippingAddress.postalCode} ${input.shippingAddress.city}`,
      compensation: { activity: 'cancelShipment', summary: 'Cancel the shipment' },
    },
    {
      name: 'capturePayment',
      activity: 'capturePayment',
      summary: ({ state }) => `Capture ${money(state.totalCents)}`,
      compensation: { activity: 'refundPayment', summary: 'Refund the captured payment' },
      // The goods are on their way: an operator decides rather than the saga undoing the sale.
      onDeadline: 'escalate',
    },
    {
      name: 'confirmOrder',
      activity: 'confirmOrder',
      summary: 'Confirm the order',
      onDeadline: 'escalate',
    },
  ],
  onStop: {
    activity: 'cancelOrder',
    describe: 'after any failure, customer cancel, rejection, approval timeout or passed deadline',
    summary: (_ctx, stop) => `Cancel the order: ${stop.reason}`,
    input: ({ input }, stop) => ({
      reason: stop.reason,
      failedStep: stop.failedStep,
      ...(stop.manuallyResolved.length ? { manuallyResolved: stop.manuallyResolved } : {}),
      requestedBy: stop.by,
      // When createOrder never succeeded, the stop records order.placement_failed for this customer.
      customerId: input.customerId,
    }),
  },
});

export type OrderStepName = (typeof ORDER_SAGA.steps)[number]['name'];

/** The UI checklist items, in order. */
export const ORDER_STEPS = checklistOf(ORDER_SAGA).map((c) => c.item);

/**
 * The order saga's workflow: the table above plus its handlers (status query, cancel,
 * approve, reject; the operator signals come with the saga runtime).
 */
export async function orderSaga(input: OrderSagaInput): Promise<OrderSagaResult> {
  const status: OrderSagaStatus = {
    orderId: input.orderId,
    status: 'PENDING',
    ...notStarted(),
    totalCents: null,
    cancelRequested: false,
    failure: null,
  };
  const frame = new SagaFrame<OrderSagaInput, OrderSagaState, OrderSagaStatusName, OrderSagaStatus>(status, {
    statusAttribute: OrderStatusKey,
    header: () => `**Order** ${input.orderId} — **${status.status}**`,
    names: { stopping: 'CANCELLING', completed: 'CONFIRMED', stopped: 'CANCELLED' },
  });
  const state: OrderSagaState = {
    totalCents: 0,
    cancelRequest: null,
    approvalDecision: null,
    setStatus: (next) => frame.setStatus(next),
    setTotal: (totalCents) => {
      state.totalCents = totalCents;
      status.totalCents = totalCents;
      upsertSearchAttributes([{ key: OrderTotalKey, value: totalCents / 100 }]);
    },
  };
  frame.start(ORDER_SAGA, input, state, {
    deadlines: input.stepDeadlines,
    attributes: [
      { key: OrderIdKey, value: input.orderId },
      { key: CustomerIdKey, value: input.customerId },
    ],
    status: 'PENDING',
  });

  frame.handleStatusQuery(statusQuery, 'Live saga state: step, completed steps, compensations, failure.');
  frame.handleCancel(cancelOrderUpdate, {
    state,
    requestOf: (request: ReasonRequest) => ({
      reason: request?.reason ?? 'cancelled_by_customer',
      by: request?.requestedBy ?? null,
    }),
    refusal: () => {
      if (status.status === 'CANCELLED' || status.status === 'CANCELLING') return 'The order is already cancelled';
      if (status.status === 'CONFIRMED') return 'The order is already confirmed';
      if (status.completedSteps.includes('scheduleShipment')) {
        return 'The shipment is already scheduled; the order can no longer be cancelled';
      }
      return undefined;
    },
    description: 'Customer cancel: compensates everything done so far; refused once the shipment is scheduled.',
  });
  const requireAwaitingApproval = () => {
    if (status.status !== 'AWAITING_APPROVAL' || state.approvalDecision)
      throw new Error('The order is not awaiting approval');
  };
  setHandler(
    approveUpdate,
    // `request` is undefined in histories from before identities: read it optionally.
    (request: ApproveRequest) => {
      state.approvalDecision = { approved: true, by: request?.decidedBy ?? null };
      return status;
    },
    {
      description: 'Approve an order above the approval threshold.',
      validator: (_request: ApproveRequest) => requireAwaitingApproval(),
    },
  );
  setHandler(
    rejectUpdate,
    (request: ReasonRequest) => {
      state.approvalDecision = { approved: false, reason: request?.reason, by: request?.requestedBy ?? null };
      return status;
    },
    {
      description: 'Reject an order above the approval threshold: it is compensated and cancelled.',
      validator: (_request: ReasonRequest) => requireAwaitingApproval(),
    },
  );

  const outcome = await frame.execute();
  if (outcome.completed) return { orderId: input.orderId, status: 'CONFIRMED' };
  const { reason, failedStep } = outcome.stop;
  return { orderId: input.orderId, status: 'CANCELLED', reason, failedStep };
}
