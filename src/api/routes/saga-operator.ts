import { WorkflowNotFoundError, type QueryDefinition, type SignalDefinition } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { SagaProgress } from '../../saga/runtime';
import {
  abandonStepSignal,
  markCompensationResolvedSignal,
  retryCompensationSignal,
  retryStepSignal,
  type OperatorSignalArgs,
} from '../../saga/saga';
import { waitFor, WaitTimeoutError } from '../../util/wait';
import { ORDER_SAGA, RETURN_SAGA, returnStatusQuery, statusQuery } from '../../workflows';
import type { ApiDeps } from '../deps';
import { actorOf } from '../audit';
import { ConflictError, NotFoundError } from '../errors';
import { freeText, problems, sagaStatusSchema } from '../schemas';
import { workflowIdFor } from './orders/place';
import { returnStatusSchema, returnWorkflowIdFor } from './returns';

/**
 * Operator actions on a parked saga: a forward step past its deadline (`STEP_STUCK`: retry it
 * after fixing the cause, or abandon it, which compensates), and a compensation that keeps
 * failing (`COMPENSATION_STUCK`: retry it, or mark it undone by hand). Each checks the live
 * saga first and answers 409 saying why when the action does not apply, then signals the
 * workflow with the reason and who acted (visible in the Temporal UI's history) and answers
 * the saga's state once it has moved on. Audited by `config.audit`.
 */

const reasonBody = z.object({
  reason: freeText(500).describe('Why (recorded in the audit log)'),
});

interface SagaKind {
  kind: 'order' | 'return';
  param: 'orderId' | 'returnId';
  workflowIdOf: (id: string) => string;
  steps: readonly string[];
  /** Steps past the saga's point of no return: they can be retried, never abandoned. */
  retriable: ReadonlySet<string>;
  status: QueryDefinition<SagaProgress>;
  statusSchema: z.ZodType;
}

const SAGA_KINDS: readonly SagaKind[] = [
  {
    kind: 'order',
    param: 'orderId',
    workflowIdOf: workflowIdFor,
    steps: ORDER_SAGA.steps.map((s) => s.name),
    retriable: new Set(ORDER_SAGA.steps.filter((s) => s.retriable).map((s) => s.name)),
    status: statusQuery as QueryDefinition<SagaProgress>,
    statusSchema: sagaStatusSchema,
  },
  {
    kind: 'return',
    param: 'returnId',
    workflowIdOf: returnWorkflowIdFor,
    steps: RETURN_SAGA.steps.map((s) => s.name),
    retriable: new Set(RETURN_SAGA.steps.filter((s) => s.retriable).map((s) => s.name)),
    status: returnStatusQuery as QueryDefinition<SagaProgress>,
    statusSchema: returnStatusSchema,
  },
];

type Phase = SagaProgress['sagaPhase'];

interface Action {
  path: string;
  action: string;
  summary: string;
  signal: SignalDefinition<[OperatorSignalArgs?]>;
  /** Why the action does not apply to this live state, or null when it does. */
  refuse: (s: SagaProgress, saga: SagaKind, step?: string) => string | null;
  /** The saga has taken the decision: it left the parked state. */
  moved: (s: SagaProgress) => boolean;
}

const notParked = (s: SagaProgress, kind: string, expected: Phase, what: string) =>
  s.sagaPhase === expected ? null : `The ${kind}'s saga is not ${what} (its phase is ${s.sagaPhase})`;

const refuseStep = (s: SagaProgress, { kind }: SagaKind, step?: string) => {
  const refusal = notParked(s, kind, 'STEP_STUCK', 'parked on a step past its deadline');
  if (refusal) return refusal;
  const stuck = s.stuckStep?.step;
  return stuck === step ? null : `The ${kind}'s saga is parked on ${stuck}, not on ${step}`;
};
const refuseAbandon = (s: SagaProgress, saga: SagaKind, step?: string) =>
  refuseStep(s, saga, step) ??
  (step && saga.retriable.has(step)
    ? `The ${saga.kind}'s step ${step} comes after its point of no return: it cannot be abandoned, only retried once its cause is fixed`
    : null);
const refuseCompensation = (s: SagaProgress, { kind }: SagaKind) =>
  notParked(s, kind, 'COMPENSATION_STUCK', 'parked on a failed compensation');

const STEP_ACTIONS: readonly Action[] = [
  {
    path: 'retry',
    action: 'retry_step',
    summary: 'Run the step parked past its deadline again, with a fresh deadline (after fixing its cause)',
    signal: retryStepSignal,
    refuse: refuseStep,
    moved: (s) => s.sagaPhase !== 'STEP_STUCK',
  },
  {
    path: 'abandon',
    action: 'abandon_step',
    summary:
      "Give up on the step parked past its deadline: the saga compensates what it did (refused past the saga's point of no return)",
    signal: abandonStepSignal,
    refuse: refuseAbandon,
    moved: (s) => s.sagaPhase !== 'STEP_STUCK',
  },
];
const COMPENSATION_ACTIONS: readonly Action[] = [
  {
    path: 'retry',
    action: 'retry_compensation',
    summary: 'Run the compensation that kept failing again (after fixing its cause)',
    signal: retryCompensationSignal,
    refuse: refuseCompensation,
    moved: (s) => s.sagaPhase !== 'COMPENSATION_STUCK',
  },
  {
    path: 'resolve',
    action: 'resolve_compensation',
    summary: 'Declare the compensation that kept failing undone by hand: the saga carries on without it',
    signal: markCompensationResolvedSignal,
    refuse: refuseCompensation,
    moved: (s) => s.sagaPhase !== 'COMPENSATION_STUCK',
  },
];

export interface SagaOperatorOptions {
  /** How long an action waits for the saga to leave its parked state before answering. Default 5 s. */
  settleMs?: number;
}

export function sagaOperatorRoutes(fastify: FastifyInstance, deps: ApiDeps, options: SagaOperatorOptions = {}): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const settleMs = options.settleMs ?? 5000;

  for (const saga of SAGA_KINDS) {
    const idParam = z.object({ [saga.param]: z.uuid('must be a UUID').describe(`The ${saga.kind} id (a UUID)`) });
    const stepParams = idParam.extend({
      step: z.enum(saga.steps as [string, ...string[]]).describe(`A step of the ${saga.kind} saga's table`),
    });
    const result = z.object({ [saga.param]: z.uuid(), saga: saga.statusSchema });

    const act = async (id: string, action: Action, args: OperatorSignalArgs, step?: string) => {
      const handle = deps.temporal.workflow.getHandle(saga.workflowIdOf(id));
      const before = await handle.query(saga.status).catch((err: unknown) => {
        if (err instanceof WorkflowNotFoundError) throw new NotFoundError(`No ${saga.kind} ${id}`);
        throw err;
      });
      const refusal = action.refuse(before, saga, step);
      if (refusal) throw new ConflictError(refusal);
      await handle.signal(action.signal, args).catch((err: unknown) => {
        // Closed between the query and the signal.
        if (err instanceof WorkflowNotFoundError) throw new ConflictError(`The ${saga.kind}'s saga has finished`);
        throw err;
      });
      // Answer once the saga took the decision (or with its state as it is after settleMs).
      const after = await waitFor(
        async () => {
          const s = await handle.query(saga.status);
          return action.moved(s) ? s : undefined;
        },
        { timeoutMs: settleMs, intervalMs: 100, description: 'the saga to move on' },
      ).catch((err: unknown) => {
        if (err instanceof WaitTimeoutError) return handle.query(saga.status);
        throw err;
      });
      return after;
    };

    const routes = [
      ...STEP_ACTIONS.map((a) => ({
        a,
        url: `/${saga.kind}s/:${saga.param}/steps/:step/${a.path}`,
        params: stepParams,
      })),
      ...COMPENSATION_ACTIONS.map((a) => ({
        a,
        url: `/${saga.kind}s/:${saga.param}/compensation/${a.path}`,
        params: idParam,
      })),
    ];
    for (const { a, url, params } of routes) {
      app.post(
        url,
        {
          config: { access: 'operator', audit: { action: a.action, targetType: saga.kind, targetParam: saga.param } },
          schema: {
            tags: ['operations'],
            summary: `${a.summary} (operators; 409 when the ${saga.kind}'s saga is not parked there)`,
            params,
            body: reasonBody,
            response: { 200: result, ...problems(400, 401, 403, 404, 409, 429, 500, 503) },
          },
        },
        async (request) => {
          const p = request.params as Record<string, string>;
          const id = p[saga.param]!;
          const by = actorOf(request);
          const state = await act(id, a, { note: request.body.reason, by }, p.step);
          request.auditDetail = { sagaPhase: state.sagaPhase };
          return { [saga.param]: id, saga: state };
        },
      );
    }
  }
}
