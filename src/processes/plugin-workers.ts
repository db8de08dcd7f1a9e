import type { DataConverter } from '@temporalio/common';
import type { ActivityInterceptorsFactory, NativeConnection, Worker } from '@temporalio/worker';
import { withFailureMapping } from '../activities/failures';
import type { Logger } from '../logger';
import type { Pool } from '../store/pool';
import { createWorker } from '../worker';
import { pluginSagas } from './plugins';

export interface PluginWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  pool: Pool;
  logger: Logger;
  /** The project's payload encryption (`dataConverterOf`). */
  dataConverter: DataConverter;
  /** The saga metrics' interceptor, as on the project's worker. */
  activityInterceptors?: ActivityInterceptorsFactory[];
}

/**
 * One Temporal worker per plugin saga, on the saga's own task queue, beside the project's
 * worker in the same process (`saga worker`, `saga dev`). Empty without plugins.
 */
export async function createPluginWorkers(options: PluginWorkerOptions): Promise<Worker[]> {
  const workers: Worker[] = [];
  for (const saga of pluginSagas()) {
    workers.push(
      await createWorker({
        connection: options.connection,
        namespace: options.namespace,
        taskQueue: saga.taskQueue,
        saga: {
          workflowsPath: saga.workflowsPath,
          // As the project's: business errors compensate, data PostgreSQL refuses fails at once.
          activities: withFailureMapping(
            saga.activities({ pool: options.pool }) as Record<string, (...args: never[]) => Promise<unknown>>,
          ),
        },
        activityInterceptors: options.activityInterceptors,
        dataConverter: options.dataConverter,
      }),
    );
    options.logger.info({ saga: saga.definition.name, taskQueue: saga.taskQueue }, 'plugin saga worker created');
  }
  return workers;
}

/** Runs workers together: settles when all have stopped, rejects when one fails. */
export function runAll(workers: readonly Worker[]): { running: Promise<void>; shutdown(): void } {
  const running = Promise.all(workers.map((w) => w.run())).then(() => undefined);
  return {
    running,
    shutdown: () => {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    },
  };
}
