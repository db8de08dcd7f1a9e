import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
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
  /**
   * Pre-built workflow bundle (tests build it once). Default: the bundle the build ships in
   * dist/ (`shippedWorkflowBundle`) when it fits, else bundle src/workflows at start.
   */
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

export async function createWorker(given: CreateWorkerOptions): Promise<Worker> {
  if (!given.deps && !given.saga) throw new TypeError('createWorker needs deps (the project sagas) or saga');
  const shipped = given.workflowBundle || given.saga ? undefined : shippedWorkflowBundle();
  const options = shipped ? { ...given, workflowBundle: { codePath: shipped } } : given;
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

/** The bundle the build ships beside the compiled worker (dist/), and what it was built with. */
const SHIPPED_BUNDLE = 'workflow-bundle.js';
const SHIPPED_BUNDLE_INFO = 'workflow-bundle.json';

/** The version of @temporalio/workflow this process resolves: the one a bundle built here holds. */
const workflowSdkVersion = (): string => (require('@temporalio/workflow/package.json') as { version: string }).version;

/**
 * Writes the bundle the build ships (`npm run build`, after tsc): workers started from dist/
 * then skip webpack (seconds of CPU at every start). Without the tracing interceptors: a
 * tracing worker bundles its own.
 */
export async function writeShippedWorkflowBundle(dir = __dirname): Promise<void> {
  await writeWorkflowBundle(path.join(dir, SHIPPED_BUNDLE));
  await writeFile(path.join(dir, SHIPPED_BUNDLE_INFO), `${JSON.stringify({ workflowSdk: workflowSdkVersion() })}\n`);
}

/**
 * The shipped bundle in `dir` (default: beside this module, so only when running from dist/),
 * when tracing is off (it lacks those interceptors) and it holds the @temporalio/workflow this
 * process resolves (an installed package may resolve a newer one than it was built with).
 * Else undefined: the worker bundles at start.
 */
export function shippedWorkflowBundle(dir = __dirname): string | undefined {
  const [bundle, info] = [path.join(dir, SHIPPED_BUNDLE), path.join(dir, SHIPPED_BUNDLE_INFO)];
  if (activeTracing().enabled || !existsSync(bundle) || !existsSync(info)) return undefined;
  const { workflowSdk } = JSON.parse(readFileSync(info, 'utf8')) as { workflowSdk?: string };
  return workflowSdk === workflowSdkVersion() ? bundle : undefined;
}

/** Whether a pre-built bundle holds the OpenTelemetry workflow interceptors. */
export function bundleIsTraced(file: string): boolean {
  return readFileSync(file, 'utf8').includes('OpenTelemetryInboundInterceptor');
}
