import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  makeWorkflowExporter,
} from '@temporalio/interceptors-opentelemetry/lib/worker';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { activeTracing } from './telemetry/tracing';
import {
  bundleWorkflowCode,
  DefaultLogger,
  NativeConnection,
  Worker,
  type NativeConnectionOptions,
  type WorkerOptions,
} from '@temporalio/worker';
import { createActivities, type ActivityDeps } from './activities';
import { correlationActivityInterceptor } from './correlation/activity-interceptor';

export interface CreateWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** The project's sagas (orderSaga, returnSaga) with these dependencies; or `saga`. */
  deps?: ActivityDeps;
  /** A plugin's saga instead: its workflow module and activities (bundled at start). */
  saga?: { workflowsPath: string; activities: object };
  /** Pre-built workflow bundle (tests build it once). Default: bundle src/workflows at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** More activity interceptors (the saga metrics of `registerSagaMetrics`). */
  activityInterceptors?: ActivityInterceptorsFactory[];
  /**
   * The payload encryption every client and worker shares (`encryptionDataConverter`). Its
   * codecs run outside the workflow sandbox, so a pre-built bundle needs nothing more.
   */
  dataConverter: WorkerOptions['dataConverter'];
  /** Extra Worker options (concurrency, shutdown grace …). */
  overrides?: Partial<WorkerOptions>;
}

/** Paths given to the bundler; they resolve .ts under tsx/jest and .js once compiled. */
export const WORKFLOWS_PATH = require.resolve('./workflows');
/** Workflow interceptor modules; a pre-built bundle must include them (`bundleWorkflowCode`). */
export const WORKFLOW_INTERCEPTOR_MODULES = [require.resolve('./workflows/interceptors')];

/** The OpenTelemetry workflow interceptors (inbound, outbound, internals) for the workflow bundle. */
export const OTEL_WORKFLOW_INTERCEPTORS =
  require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

/**
 * With tracing on: a span per workflow task and activity (the SDK's OpenTelemetry
 * interceptors), continuing the trace the client started; workflow spans leave through a sink
 * into this process's span processor. Nothing at all while tracing is off.
 */
function tracingOptions(bundled: boolean): {
  activity: ActivityInterceptorsFactory[];
  workflowModules?: string[];
  sinks?: WorkerOptions['sinks'];
} {
  const tracing = activeTracing();
  if (!tracing.enabled) return { activity: [] };
  return {
    activity: [
      (ctx) => ({
        inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
        outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
      }),
    ],
    sinks: { exporter: makeWorkflowExporter(tracing.spanProcessor!, tracing.resource!) },
    // A pre-built bundle must have been built with them (`writeWorkflowBundle` does when tracing).
    ...(bundled ? {} : { workflowModules: [OTEL_WORKFLOW_INTERCEPTORS] }),
  };
}

export async function createWorker(options: CreateWorkerOptions): Promise<Worker> {
  if (!options.deps && !options.saga) throw new TypeError('createWorker needs deps (the project sagas) or saga');
  const {
    activity: tracedActivities,
    workflowModules: tracedWorkflows,
    ...tracing
  } = tracingOptions(Boolean(options.workflowBundle));
  return Worker.create({
    ...tracing,
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities: options.saga?.activities ?? createActivities(options.deps!),
    ...(options.workflowBundle
      ? { workflowBundle: options.workflowBundle }
      : { workflowsPath: options.saga?.workflowsPath ?? WORKFLOWS_PATH }),
    interceptors: {
      activity: [...tracedActivities, correlationActivityInterceptor, ...(options.activityInterceptors ?? [])],
      ...(options.workflowBundle
        ? {}
        : { workflowModules: [...WORKFLOW_INTERCEPTOR_MODULES, ...(tracedWorkflows ?? [])] }),
    },
    dataConverter: options.dataConverter,
    shutdownGraceTime: '10 seconds',
    ...options.overrides,
  });
}

/** Connects a worker to Temporal: an address, or full options (TLS, API key: `temporalConnectOptions`). */
export async function connectWorker(target: string | NativeConnectionOptions): Promise<NativeConnection> {
  return NativeConnection.connect(typeof target === 'string' ? { address: target } : target);
}

/**
 * Bundles the workflow code (with the interceptors) once into `file`, for workers started with
 * `WORKFLOW_BUNDLE`: each then starts in about a second instead of running webpack itself.
 */
export async function writeWorkflowBundle(file: string, options: { tracing?: boolean } = {}): Promise<void> {
  const bundle = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    workflowInterceptorModules: [
      ...WORKFLOW_INTERCEPTOR_MODULES,
      ...(options.tracing ? [OTEL_WORKFLOW_INTERCEPTORS] : []),
    ],
    logger: new DefaultLogger('WARN'),
  });
  await writeFile(file, bundle.code);
}

/** Whether a pre-built bundle holds the OpenTelemetry workflow interceptors. */
export function bundleIsTraced(file: string): boolean {
  return readFileSync(file, 'utf8').includes('OpenTelemetryInboundInterceptor');
}
