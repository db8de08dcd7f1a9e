import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { Worker, type NativeConnection } from '@temporalio/worker';
import { buildApp } from '../api/app';
import { CONSUMERS } from '../consumers';
import type { ConsumerDefinition } from '../delivery/consumer';
import { notifier } from '../consumers/notifier';
import { createLogger } from '../logger';
import { createSimulatedCarrier } from '../ports/simulators/carrier';
import { createSimulatedPaymentGateway } from '../ports/simulators/payment-gateway';
import type { Pool } from '../store/pool';
import { pause } from '../util/pause';
import { SagaPhaseKey } from '../saga/search-attributes';
import { createWorker } from '../worker';
import { compensationCheck, deliverTwice, eventChecks, notificationCheck, readModelCheck, readStreams } from './checks';
import { FaultPlan } from './faults';
import type { Scenario } from './scenarios';
import type { Check, ExploreTarget, Run, TargetContext } from './target';

export interface ExploreOptions {
  pool: Pool;
  client: Client;
  connection: NativeConnection;
  namespace: string;
  target: ExploreTarget;
  scenarios: readonly Scenario[];
  /** A pre-built workflow bundle. Default: bundle the workflows at start. */
  workflowBundle?: string;
  /** Scenarios running at once on the explorer's worker. Default 4. */
  concurrency?: number;
  /** Longest wait for one run to end. Default 90 s. */
  runTimeoutMs?: number;
  /** Consumers each run's events are delivered to (twice). Default: the project's. */
  consumers?: readonly ConsumerDefinition[];
  onResult?(result: ScenarioResult): void;
}

export interface ScenarioResult {
  scenario: Scenario;
  /** How the saga ended (`CONFIRMED`, `CANCELLED explored_cancel @createOrder`, …). */
  outcome: string;
  checks: Check[];
  ok: boolean;
  ms: number;
}

export interface ExploreReport {
  saga: string;
  ok: boolean;
  results: ScenarioResult[];
  ms: number;
}

type OperatorAction = 'steps/retry' | 'steps/abandon' | 'compensation/retry';
/**
 * An operator's action: through the API's operator routes, as an operator key (the
 * explorer's own) makes it, or, for a saga the API does not serve, the runtime's own signal.
 */
type OperatorCall = (run: Run, action: OperatorAction, step?: string) => Promise<void>;

const SIGNALS: Record<OperatorAction, string> = {
  'steps/retry': 'retryStep',
  'steps/abandon': 'abandonStep',
  'compensation/retry': 'retryCompensation',
};

interface Progress {
  sagaPhase: string;
  stuckStep?: { step: string } | null;
}

/** The saga's `status` query where it has one (the project's sagas); else its SagaPhase search attribute. */
async function progressOf(run: Run): Promise<Progress> {
  try {
    return (await run.handle.query('status')) as Progress;
  } catch {
    const description = await run.handle.describe();
    return { sagaPhase: description.typedSearchAttributes.get(SagaPhaseKey) ?? 'RUNNING' };
  }
}

/**
 * Runs every scenario on the real stack: a worker of its own whose activities fail as each
 * scenario says, the operator routes of the API for escalations, and after each run the
 * invariants every saga must keep.
 */
export async function explore(options: ExploreOptions): Promise<ExploreReport> {
  const started = Date.now();
  const taskQueue = `explore-${randomBytes(4).toString('hex')}`;
  const plan = new FaultPlan();
  const own = options.target.worker;
  // The client's payload encryption: what the worker reads, the client wrote.
  const dataConverter = { payloadCodecs: options.client.options.loadedDataConverter.payloadCodecs };
  const worker = own
    ? await Worker.create({
        connection: options.connection,
        namespace: options.namespace,
        taskQueue,
        workflowsPath: own.workflowsPath,
        activities: own.activities,
        interceptors: { activity: [plan.interceptor()] },
        dataConverter,
        shutdownGraceTime: '2 seconds',
      })
    : await createWorker({
        connection: options.connection,
        namespace: options.namespace,
        taskQueue,
        // The simulators: the explorer checks their books (no payment doubled, stock back).
        deps: {
          pool: options.pool,
          paymentGateway: createSimulatedPaymentGateway({ pool: options.pool }),
          carrier: createSimulatedCarrier(),
        },
        activityInterceptors: [plan.interceptor()],
        dataConverter,
        ...(options.workflowBundle ? { workflowBundle: { codePath: options.workflowBundle } } : {}),
        overrides: { shutdownGraceTime: '2 seconds' },
      });
  const running = worker.run();
  const key = randomBytes(16).toString('hex');
  const app = buildApp({
    pool: options.pool,
    temporal: options.client,
    taskQueue,
    orders: { approvalThresholdCents: 0, approvalTimeout: '1h' },
    apiKeys: [{ name: 'explorer', role: 'operator', key }],
    limits: { rateLimitPerMinute: false },
    logger: createLogger('silent'),
  });
  const operator: OperatorCall = async (run, action, step) => {
    const reason = `explored: ${action}`;
    if (!run.resource) return run.handle.signal(SIGNALS[action], { note: reason, by: 'explorer' });
    const url = step ? `/${run.resource}/steps/${step}/${action.split('/')[1]}` : `/${run.resource}/${action}`;
    const res = await app.inject({ method: 'POST', url, payload: { reason }, headers: { 'x-api-key': key } });
    if (res.statusCode !== 200) throw new Error(`POST ${url} answered ${res.statusCode}: ${res.body}`);
  };
  const ctx: TargetContext = { pool: options.pool, client: options.client, taskQueue };
  const results: ScenarioResult[] = [];
  try {
    let next = 0;
    const lane = async () => {
      while (next < options.scenarios.length) {
        const scenario = options.scenarios[next++]!;
        const result = await runScenario(options, ctx, plan, operator, scenario);
        results.push(result);
        options.onResult?.(result);
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 4 }, lane));
  } finally {
    await app.close();
    worker.shutdown();
    await running;
  }
  const order = new Map(options.scenarios.map((s, i) => [s.id, i]));
  results.sort((a, b) => order.get(a.scenario.id)! - order.get(b.scenario.id)!);
  return { saga: options.target.saga.name, ok: results.every((r) => r.ok), results, ms: Date.now() - started };
}

async function runScenario(
  options: ExploreOptions,
  ctx: TargetContext,
  plan: FaultPlan,
  operator: OperatorCall,
  scenario: Scenario,
): Promise<ScenarioResult> {
  const started = Date.now();
  const { target } = options;
  let run: Run | undefined;
  try {
    run = await target.start(ctx, scenario.deadlines, (workflowId) => plan.plan(workflowId, scenario.faults));
    const ended = await driveToEnd(options, ctx, plan, operator, scenario, run);
    const checks = await checkRun(options, ctx, plan, scenario, run);
    return { scenario, outcome: ended, checks, ok: checks.every((c) => c.ok), ms: Date.now() - started };
  } catch (err) {
    const check = { name: 'the run ends', ok: false, detail: (err as Error).message };
    return { scenario, outcome: 'ERROR', checks: [check], ok: false, ms: Date.now() - started };
  } finally {
    if (run) plan.clear(run.workflowId);
  }
}

/** Polls the run until its workflow ends, answering its waits and acting as the scenario's operator. */
async function driveToEnd(
  options: ExploreOptions,
  ctx: TargetContext,
  plan: FaultPlan,
  operator: OperatorCall,
  scenario: Scenario,
  run: Run,
): Promise<string> {
  const deadline = Date.now() + (options.runTimeoutMs ?? 90_000);
  const act = scenario.operator;
  let acted = false;
  let cancel = '';
  let refusal = '';
  for (;;) {
    // The cancel arrives while the gated activity runs (the saga answered its waits till then).
    if (act?.kind === 'cancel' && !acted && plan.gateReached(run.workflowId, act.activity)) {
      cancel = (await options.target.cancel?.(ctx, run)) ?? 'refused';
      plan.openGate(run.workflowId, act.activity);
      acted = true;
    }
    const description = await run.handle.describe();
    if (description.status.name !== 'RUNNING') {
      const result = (await run.handle.result().catch((err: Error) => `FAILED ${err.message}`)) as
        string | { status: string; reason?: string; failedStep?: string | null };
      const end =
        typeof result === 'string'
          ? [result]
          : [result.status, result.reason, result.failedStep ? `@${result.failedStep}` : ''].filter(Boolean);
      return `${end.join(' ')}${cancel ? ` (cancel ${cancel})` : ''}${refusal}`;
    }
    if (Date.now() > deadline) throw new Error(`the saga did not end within ${options.runTimeoutMs ?? 90_000} ms`);
    const progress = await progressOf(run);
    if (!acted && act && act.kind !== 'cancel') {
      if (act.kind === 'retry-compensation' && progress.sagaPhase === 'COMPENSATION_STUCK') {
        plan.clear(run.workflowId, act.activity);
        await operator(run, 'compensation/retry');
        acted = true;
      } else if (
        act.kind !== 'retry-compensation' &&
        progress.sagaPhase === 'STEP_STUCK' &&
        (progress.stuckStep?.step ?? act.step) === act.step
      ) {
        plan.clear(run.workflowId);
        if (act.kind === 'abandon-step' && act.refused) {
          // Past the point of no return the abandon must be refused; then the step is retried.
          const accepted = await operator(run, 'steps/abandon', act.step).then(
            () => Boolean(run.resource),
            () => false,
          );
          if (accepted) throw new Error(`abandoning ${act.step} was accepted past the point of no return`);
          refusal = ' (abandon refused)';
          await operator(run, 'steps/retry', act.step);
        } else {
          await operator(run, act.kind === 'retry-step' ? 'steps/retry' : 'steps/abandon', act.step);
        }
        acted = true;
      }
    }
    await options.target.drive?.(ctx, run);
    await pause(200);
  }
}

async function checkRun(
  options: ExploreOptions,
  ctx: TargetContext,
  plan: FaultPlan,
  scenario: Scenario,
  run: Run,
): Promise<Check[]> {
  const { target } = options;
  const consumers = options.consumers ?? target.consumers ?? CONSUMERS;
  const history = await run.handle.fetchHistory();
  const scheduled = (history.events ?? []).flatMap((e) => {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    return name ? [name] : [];
  });
  const checks: Check[] = [];
  for (const [activity, fault] of Object.entries(scenario.faults)) {
    if (fault.kind === 'lost-report') {
      const lost = plan.lostReports.has(`${run.workflowId}/${activity}`);
      checks.push({
        name: 'the fault point was reached',
        ok: lost,
        detail: lost ? `${activity} committed, its report lost, retried` : `${activity} never ran`,
      });
    }
  }
  const events = await readStreams(ctx.pool, run.streams);
  checks.push(...eventChecks(run, events, target.terminalEvents));
  checks.push(compensationCheck(target.saga, scheduled));
  checks.push(await deliverTwice(ctx.pool, consumers, events));
  if (consumers.includes(notifier)) checks.push(await notificationCheck(ctx.pool, run, [...notifier.handles]));
  checks.push(await readModelCheck(ctx.pool, run, events));
  checks.push(...((await target.checks?.(ctx, run)) ?? []));
  return checks;
}
