import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  defineQuery,
  defineUpdate,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  CancellationScope,
  type ActivityFunctionWithOptions,
} from '@temporalio/workflow';
import type { ActivityFunction, ActivityOptions, Duration } from '@temporalio/common';
import type { Activities, OrderCommandInput, Traced } from '../activities';
import type { OrderLine, ShippingAddress } from '../domain/order';
import { Saga, renderSagaDetails, type SagaSnapshot, type StuckCompensation } from '../saga/saga';
import { CustomerIdKey, OrderIdKey, OrderStatusKey, OrderTotalKey } from '../temporal/search-attributes';

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
}

export type OrderSagaStatusName = 'PENDING' | 'AWAITING_APPROVAL' | 'CANCELLING' | 'CONFIRMED' | 'CANCELLED';

export interface OrderSagaStatus {
  orderId: string;
  status: OrderSagaStatusName;
  /** The step running now. */
  step: string | null;
  completedSteps: string[];
  /** Compensations run so far (step undone and how). */
  compensations: { step: string; status: string }[];
  sagaPhase: SagaSnapshot['phase'];
  /** Compensations waiting for an operator (retryCompensation / markCompensationResolved). */
  stuck: StuckCompensation[];
  totalCents: number | null;
  /** A customer cancel was accepted and will take effect at the next step boundary. */
  cancelRequested: boolean;
  failure: { reason: string; failedStep: string | null } | null;
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

/** The forward steps, in order; the UI checklist shows them. */
export const ORDER_STEPS = [
  'createOrder',
  'reserveInventory',
  'authorizePayment',
  'approval',
  'scheduleShipment',
  'capturePayment',
  'confirmOrder',
] as const;

// Forward steps retry transient failures without limit; business failures are non-retryable.
const FORWARD: ActivityOptions = {
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '5 seconds' },
};
// Compensations retry a bounded number of times, then the saga escalates to an operator.
const UNDO: ActivityOptions = {
  startToCloseTimeout: '10 seconds',
  retry: {
    initialInterval: '200 milliseconds',
    backoffCoefficient: 2,
    maximumInterval: '2 seconds',
    maximumAttempts: 5,
  },
};
const forward = proxyActivities<Activities>(FORWARD);
const undo = proxyActivities<Activities>(UNDO);

/** Runs an activity with a one-line summary shown for it in the Temporal UI's event history. */
function withSummary<T extends ActivityFunction>(
  fn: ActivityFunctionWithOptions<T>,
  options: ActivityOptions,
  summary: string,
  ...args: Parameters<T>
): Promise<Awaited<ReturnType<T>>> {
  return fn.executeWithOptions({ ...options, summary }, args);
}

const money = (cents: number) => `${(cents / 100).toFixed(2)}`;

/** A business decision to stop (customer cancel, rejection, timeout), not an error. */
class SagaAbort extends Error {
  constructor(
    readonly reason: string,
    readonly failedStep: string | null,
  ) {
    super(reason);
  }
}

function describeFailure(err: unknown, step: string | null): { reason: string; failedStep: string | null } {
  if (err instanceof SagaAbort) return { reason: err.reason, failedStep: err.failedStep };
  if (isCancellation(err)) return { reason: 'workflow_cancelled', failedStep: step };
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
    return { reason: err.cause.type ?? err.cause.message, failedStep: step };
  }
  return { reason: (err as Error)?.message ?? 'unknown_error', failedStep: step };
}

/**
 * The order lifecycle: create → reserve inventory → authorize payment → (approval above the
 * threshold) → schedule shipment → capture payment → confirm. Any failure, a customer
 * cancel, a rejection or an approval timeout compensates every completed step (last first)
 * and ends with order.cancelled. Each step's command id is `<workflowId>/<step>`, stable
 * across retries and replays, so no step is ever applied twice.
 */
export async function orderSaga(input: OrderSagaInput): Promise<OrderSagaResult> {
  const { workflowId } = workflowInfo();
  // Causation chain: the first command is caused by the request (its correlation id), each
  // later one by the last event the saga appended.
  let causationId = input.correlationId;
  const command = (step: string): OrderCommandInput => ({
    commandId: `${workflowId}/${step}`,
    orderId: input.orderId,
    causationId,
  });
  const traced = async <T extends Traced>(result: Promise<T>): Promise<T> => {
    const r = await result;
    if (r.lastEventId) causationId = r.lastEventId;
    return r;
  };

  const status: OrderSagaStatus = {
    orderId: input.orderId,
    status: 'PENDING',
    step: null,
    completedSteps: [],
    compensations: [],
    sagaPhase: 'RUNNING',
    stuck: [],
    totalCents: null,
    cancelRequested: false,
    failure: null,
  };
  let cancelRequest: { reason: string; by: string | null } | null = null;
  let approvalDecision: { approved: boolean; reason?: string; by: string | null } | null = null;
  /** Who stopped the order (a customer cancel, an operator rejection); null when the saga failed on its own. */
  let stoppedBy: string | null = null;

  const setStatus = (next: OrderSagaStatusName) => {
    status.status = next;
    upsertSearchAttributes([{ key: OrderStatusKey, value: next }]);
    render();
  };
  const render = () => {
    const checklist = ORDER_STEPS.map((s) => {
      const done =
        status.completedSteps.includes(s) || (s === 'approval' && status.completedSteps.includes('approveOrder'));
      const note =
        status.step === s
          ? ' (running)'
          : status.failure?.failedStep === s
            ? ` — stopped: ${status.failure.reason}`
            : '';
      return `- [${done ? 'x' : ' '}] ${s}${note}`;
    });
    // Markdown paragraphs (blank lines between blocks) so the UI keeps them apart.
    const blocks = [
      `**Order** ${input.orderId} — **${status.status}**`,
      status.failure ? `**Cancelled:** ${status.failure.reason} (step: ${status.failure.failedStep ?? 'none'})` : null,
      checklist.join('\n'),
      sagaSnapshot ? renderSagaDetails(sagaSnapshot, { steps: false }) : null,
    ];
    setCurrentDetails(blocks.filter((b) => b !== null).join('\n\n'));
  };
  let sagaSnapshot: SagaSnapshot | null = null;
  const saga = new Saga({
    onChange: (snapshot) => {
      sagaSnapshot = snapshot;
      status.step = snapshot.currentStep === 'requestApproval' ? 'approval' : snapshot.currentStep;
      status.completedSteps = snapshot.completedSteps;
      status.compensations = snapshot.compensations.map((c) => ({ step: c.step, status: c.status }));
      status.sagaPhase = snapshot.phase;
      status.stuck = snapshot.stuck;
      render();
    },
  });

  upsertSearchAttributes([
    { key: OrderIdKey, value: input.orderId },
    { key: CustomerIdKey, value: input.customerId },
  ]);
  setStatus('PENDING');

  setHandler(statusQuery, () => status, {
    description: 'Live saga state: step, completed steps, compensations, failure.',
  });
  setHandler(
    cancelOrderUpdate,
    async (request: ReasonRequest) => {
      cancelRequest ??= { reason: request?.reason ?? 'cancelled_by_customer', by: request?.requestedBy ?? null };
      status.cancelRequested = true;
      // Terminal either way; never leave the update (and so the workflow) waiting forever.
      await condition(() => status.status === 'CANCELLED' || status.status === 'CONFIRMED');
      return status;
    },
    {
      description: 'Customer cancel: compensates everything done so far; refused once the shipment is scheduled.',
      validator: (_request: ReasonRequest) => {
        if (status.status === 'CANCELLED' || status.status === 'CANCELLING')
          throw new Error('The order is already cancelled');
        if (status.status === 'CONFIRMED') throw new Error('The order is already confirmed');
        if (status.completedSteps.includes('scheduleShipment')) {
          throw new Error('The shipment is already scheduled; the order can no longer be cancelled');
        }
      },
    },
  );
  const requireAwaitingApproval = () => {
    if (status.status !== 'AWAITING_APPROVAL' || approvalDecision)
      throw new Error('The order is not awaiting approval');
  };
  setHandler(
    approveUpdate,
    // `request` is undefined in histories from before identities: read it optionally.
    (request: ApproveRequest) => {
      approvalDecision = { approved: true, by: request?.decidedBy ?? null };
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
      approvalDecision = { approved: false, reason: request?.reason, by: request?.requestedBy ?? null };
      return status;
    },
    {
      description: 'Reject an order above the approval threshold: it is compensated and cancelled.',
      validator: (_request: ReasonRequest) => requireAwaitingApproval(),
    },
  );

  const stopIfCancelRequested = (nextStep: string) => {
    if (cancelRequest) {
      stoppedBy = cancelRequest.by;
      throw new SagaAbort(cancelRequest.reason, nextStep);
    }
  };

  try {
    await saga.step('createOrder', () =>
      traced(
        withSummary(forward.createOrder, FORWARD, `Create order for ${input.customerId}`, {
          ...command('create-order'),
          customerId: input.customerId,
          items: input.items,
          shippingAddress: input.shippingAddress,
        }),
      ),
    );
    stopIfCancelRequested('reserveInventory');
    const reservation = await saga.step(
      'reserveInventory',
      () =>
        traced(
          withSummary(
            forward.reserveInventory,
            FORWARD,
            `Reserve ${input.items.length} line(s) of stock`,
            command('reserve-inventory'),
          ),
        ),
      async () =>
        void (await traced(
          withSummary(undo.releaseInventory, UNDO, 'Release reserved stock', command('release-inventory')),
        )),
    );
    status.totalCents = reservation.totalCents;
    upsertSearchAttributes([{ key: OrderTotalKey, value: reservation.totalCents / 100 }]);

    stopIfCancelRequested('authorizePayment');
    await saga.step(
      'authorizePayment',
      () =>
        traced(
          withSummary(
            forward.authorizePayment,
            FORWARD,
            `Authorize ${money(reservation.totalCents)} on ${input.paymentToken}`,
            {
              ...command('authorize-payment'),
              paymentToken: input.paymentToken,
            },
          ),
        ),
      async () =>
        void (await traced(
          withSummary(undo.voidPayment, UNDO, 'Void the payment authorization', command('void-payment')),
        )),
    );

    if (reservation.totalCents > input.approvalThresholdCents) {
      stopIfCancelRequested('approval');
      await saga.step('requestApproval', () =>
        traced(
          withSummary(
            forward.requestApproval,
            FORWARD,
            `Request approval: ${money(reservation.totalCents)} > ${money(input.approvalThresholdCents)}`,
            {
              ...command('request-approval'),
              thresholdCents: input.approvalThresholdCents,
            },
          ),
        ),
      );
      setStatus('AWAITING_APPROVAL');
      const decided = await condition(() => approvalDecision !== null || cancelRequest !== null, input.approvalTimeout);
      stopIfCancelRequested('approval');
      if (!decided) throw new SagaAbort('approval_timed_out', 'approval');
      if (!approvalDecision!.approved) {
        stoppedBy = approvalDecision!.by;
        throw new SagaAbort(approvalDecision!.reason ?? 'approval_rejected', 'approval');
      }
      await saga.step('approveOrder', () =>
        traced(
          withSummary(forward.approveOrder, FORWARD, 'Record the approval', {
            ...command('approve-order'),
            decidedBy: approvalDecision!.by,
          }),
        ),
      );
      setStatus('PENDING');
    }

    stopIfCancelRequested('scheduleShipment');
    await saga.step(
      'scheduleShipment',
      () =>
        traced(
          withSummary(
            forward.scheduleShipment,
            FORWARD,
            `Schedule shipment to ${input.shippingAddress.postalCode} ${input.shippingAddress.city}`,
            command('schedule-shipment'),
          ),
        ),
      async () =>
        void (await traced(withSummary(undo.cancelShipment, UNDO, 'Cancel the shipment', command('cancel-shipment')))),
    );
    // A cancel accepted while the shipment was being scheduled is still honoured here.
    stopIfCancelRequested('capturePayment');
    await saga.step(
      'capturePayment',
      () =>
        traced(
          withSummary(
            forward.capturePayment,
            FORWARD,
            `Capture ${money(reservation.totalCents)}`,
            command('capture-payment'),
          ),
        ),
      async () =>
        void (await traced(
          withSummary(undo.refundPayment, UNDO, 'Refund the captured payment', command('refund-payment')),
        )),
    );
    await saga.step('confirmOrder', () =>
      traced(withSummary(forward.confirmOrder, FORWARD, 'Confirm the order', command('confirm-order'))),
    );
    saga.complete();
    setStatus('CONFIRMED');
    await condition(allHandlersFinished);
    return { orderId: input.orderId, status: 'CONFIRMED' };
  } catch (err) {
    const failure = describeFailure(err, saga.snapshot.currentStep);
    status.failure = failure;
    setStatus('CANCELLING');
    // Even a cancelled workflow undoes what it did and says so.
    await CancellationScope.nonCancellable(async () => {
      const outcomes = await saga.compensate();
      const manuallyResolved = outcomes.filter((o) => o.status === 'resolved-manually').map((o) => o.step);
      await traced(
        withSummary(forward.cancelOrder, FORWARD, `Cancel the order: ${failure.reason}`, {
          ...command('cancel-order'),
          reason: failure.reason,
          failedStep: failure.failedStep,
          ...(manuallyResolved.length ? { manuallyResolved } : {}),
          requestedBy: stoppedBy,
        }),
      );
    });
    setStatus('CANCELLED');
    await condition(allHandlersFinished);
    return { orderId: input.orderId, status: 'CANCELLED', ...failure };
  }
}
