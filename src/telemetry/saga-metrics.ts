import type { ActivityInboundCallsInterceptor, ActivityInterceptorsFactory } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { SagaPhase } from '../saga/saga';
import type { Pool } from '../store/pool';

/**
 * Saga figures of a worker process, observed where the work happens: every activity of every
 * saga table is a forward step, a compensation or the stop activity, so an activity interceptor
 * counts sagas started (first step done), completed (last step done) and cancelled (stop
 * activity done, by reason and failed step), times every step, and counts compensations. A
 * re-execution that the command dedupe answers from its stored result counts again (rare: a
 * worker that died between commit and reporting the result).
 */

type Kind = 'forward' | 'compensation' | 'stop';
interface ActivityRole {
  saga: string;
  step: string;
  kind: Kind;
  first: boolean;
  last: boolean;
}

/** What the metrics read of a saga table (a `defineSaga` definition). */
export interface SagaTable {
  name: string;
  steps: readonly { name: string; activity: string; compensation?: { activity: string } }[];
  onStop: { activity: string };
}

/** Every saga activity's place in its table (pure data, read from the tables). */
export function activityRoles(sagas: readonly SagaTable[]): Map<string, ActivityRole> {
  const roles = new Map<string, ActivityRole>();
  for (const saga of sagas) {
    const steps = saga.steps;
    steps.forEach((s, i) => {
      roles.set(s.activity, {
        saga: saga.name,
        step: s.name,
        kind: 'forward',
        first: i === 0,
        last: i === steps.length - 1,
      });
      if (s.compensation) {
        roles.set(s.compensation.activity, {
          saga: saga.name,
          step: s.name,
          kind: 'compensation',
          first: false,
          last: false,
        });
      }
    });
    roles.set(saga.onStop.activity, { saga: saga.name, step: 'stop', kind: 'stop', first: false, last: false });
  }
  return roles;
}

/** The SagaPhase values in which a running saga waits for an operator. */
export const STUCK_PHASES = ['STEP_STUCK', 'COMPENSATION_STUCK'] as const satisfies readonly SagaPhase[];

const SQL = {
  // The saga's stream is named like its workflow (order-<id>, return-<id>): its first event is the start.
  startedAt: `SELECT occurred_at FROM events WHERE stream_id = $1 ORDER BY stream_version LIMIT 1`,
} as const;

export interface SagaMetrics {
  interceptor: ActivityInterceptorsFactory;
}

/** Saga counters and timings for the sagas of these tables (a worker's activity interceptor). */
export function registerSagaMetrics(registry: Registry, pool: Pool, sagas: readonly SagaTable[]): SagaMetrics {
  const roles = activityRoles(sagas);
  const started = new Counter({
    name: 'saga_sagas_started_total',
    help: 'Sagas whose first step completed',
    labelNames: ['saga'] as const,
    registers: [registry],
  });
  const completed = new Counter({
    name: 'saga_sagas_completed_total',
    help: 'Sagas whose last step completed',
    labelNames: ['saga'] as const,
    registers: [registry],
  });
  const cancelled = new Counter({
    name: 'saga_sagas_cancelled_total',
    help: 'Sagas stopped and compensated, by reason and the step that failed (none: a cancel or rejection)',
    labelNames: ['saga', 'reason', 'failed_step'] as const,
    registers: [registry],
  });
  const steps = new Histogram({
    name: 'saga_step_duration_seconds',
    help: 'Duration of each saga activity attempt, by step, kind (forward, compensation, stop) and outcome',
    labelNames: ['saga', 'step', 'kind', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const compensations = new Counter({
    name: 'saga_compensations_total',
    help: 'Compensation activity attempts by outcome (failures retry; a compensation that keeps failing parks the saga)',
    labelNames: ['saga', 'activity', 'outcome'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'saga_duration_seconds',
    help: 'From the saga stream’s first event to its last step (completed) or stop activity (cancelled)',
    labelNames: ['saga', 'outcome'] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86_400],
    registers: [registry],
  });

  // Series at zero from the start, so a dashboard shows 0 rather than nothing.
  for (const saga of sagas) {
    started.inc({ saga: saga.name }, 0);
    completed.inc({ saga: saga.name }, 0);
  }

  // Not awaited by the activity: its result need not wait for a metric's query (one round trip
  // on the last step of every saga).
  const observeDuration = (saga: string, outcome: string, workflowId: string | undefined): void => {
    if (!workflowId) return;
    const ended = Date.now();
    void pool
      .query<{ occurred_at: Date }>(SQL.startedAt, [workflowId])
      .then(({ rows }) => {
        if (rows[0]) duration.observe({ saga, outcome }, (ended - rows[0].occurred_at.getTime()) / 1000);
      })
      .catch(() => undefined);
  };

  const interceptor: ActivityInterceptorsFactory = (ctx) => {
    const role = roles.get(ctx.info.activityType);
    if (!role) return {};
    const inbound: ActivityInboundCallsInterceptor = {
      async execute(input, next) {
        const begin = process.hrtime.bigint();
        const seconds = () => Number(process.hrtime.bigint() - begin) / 1e9;
        try {
          const result = await next(input);
          steps.observe({ saga: role.saga, step: role.step, kind: role.kind, outcome: 'completed' }, seconds());
          if (role.kind === 'compensation')
            compensations.inc({ saga: role.saga, activity: ctx.info.activityType, outcome: 'completed' });
          if (role.first) started.inc({ saga: role.saga });
          if (role.last) {
            completed.inc({ saga: role.saga });
            observeDuration(role.saga, 'completed', ctx.info.workflowExecution?.workflowId);
          }
          if (role.kind === 'stop') {
            const args = (input.args[0] ?? {}) as { reason?: string; failedStep?: string | null };
            cancelled.inc({
              saga: role.saga,
              reason: args.reason ?? 'unknown',
              failed_step: args.failedStep ?? 'none',
            });
            observeDuration(role.saga, 'cancelled', ctx.info.workflowExecution?.workflowId);
          }
          return result;
        } catch (err) {
          steps.observe({ saga: role.saga, step: role.step, kind: role.kind, outcome: 'failed' }, seconds());
          if (role.kind === 'compensation')
            compensations.inc({ saga: role.saga, activity: ctx.info.activityType, outcome: 'failed' });
          throw err;
        }
      },
    };
    return { inbound };
  };
  return { interceptor };
}

/**
 * Live saga state from Temporal's visibility store, read at scrape time (the API serves them):
 * sagas parked on a stuck compensation or step, and orders waiting for an approval decision.
 */
export function registerSagaStateGauges(registry: Registry, temporal: Client, sagas: readonly SagaTable[]): void {
  const running = 'ExecutionStatus="Running"';
  const count = async (query: string) => (await temporal.workflow.count(query)).count;
  new Gauge({
    name: 'saga_sagas_stuck',
    help: 'Running sagas parked for an operator, by SagaPhase: STEP_STUCK (a forward step past its deadline) or COMPENSATION_STUCK',
    labelNames: ['saga', 'phase'] as const,
    registers: [registry],
    async collect() {
      // One count per saga and phase, so alerts tell a stuck step from a stuck compensation;
      // a count of 0 is set too, so every series exists from the first scrape.
      await Promise.all(
        sagas.flatMap((saga) =>
          STUCK_PHASES.map(async (phase) => {
            const n = await count(`${running} AND WorkflowType="${saga.name}" AND SagaPhase="${phase}"`).catch(
              () => undefined,
            );
            if (n !== undefined) this.set({ saga: saga.name, phase }, n);
          }),
        ),
      );
    },
  });
  new Gauge({
    name: 'saga_approvals_waiting',
    help: 'Running orders waiting for approve/reject',
    registers: [registry],
    async collect() {
      const n = await count(`${running} AND OrderStatus="AWAITING_APPROVAL"`).catch(() => undefined);
      if (n !== undefined) this.set(n);
    },
  });
}
