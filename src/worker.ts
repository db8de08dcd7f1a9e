import { writeFile } from 'node:fs/promises';
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
  deps: ActivityDeps;
  /** Pre-built workflow bundle (tests build it once). Default: bundle src/workflows at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Extra Worker options (concurrency, shutdown grace …). */
  overrides?: Partial<WorkerOptions>;
}

/** Paths given to the bundler; they resolve .ts under tsx/jest and .js once compiled. */
export const WORKFLOWS_PATH = require.resolve('./workflows');
/** Workflow interceptor modules; a pre-built bundle must include them (`bundleWorkflowCode`). */
export const WORKFLOW_INTERCEPTOR_MODULES = [require.resolve('./workflows/interceptors')];

export async function createWorker(options: CreateWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities: createActivities(options.deps),
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    interceptors: {
      activity: [correlationActivityInterceptor],
      ...(options.workflowBundle ? {} : { workflowModules: WORKFLOW_INTERCEPTOR_MODULES }),
    },
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
export async function writeWorkflowBundle(file: string): Promise<void> {
  const bundle = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
    logger: new DefaultLogger('WARN'),
  });
  await writeFile(file, bundle.code);
}
