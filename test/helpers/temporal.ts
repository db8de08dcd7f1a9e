import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger, type Worker } from '@temporalio/worker';
import type { ActivityDeps } from '../../src/activities';
import { correlationClientInterceptor } from '../../src/correlation/client-interceptor';
import type { DataConverter } from '@temporalio/common';
import { loadConfig } from '../../src/processes/config';
import { dataConverterOf } from '../../src/processes/payload-keys';
import { createWorker } from '../../src/worker';
import { testEnv } from './env';

let runtimeInstalled = false;

/** Quiet SDK logs in tests (warnings and errors still show; only errors where failures are the point). */
export function installQuietRuntime(level: 'WARN' | 'ERROR' = 'WARN'): void {
  if (runtimeInstalled) return;
  Runtime.install({ logger: new DefaultLogger(level), shutdownSignals: [] });
  runtimeInstalled = true;
}

/** The payload encryption of the suite (PAYLOAD_KEYS from the global setup), as every process uses it. */
export function testDataConverter(): DataConverter {
  return dataConverterOf(loadConfig(process.env));
}

export interface TestTemporal {
  client: Client;
  taskQueue: string;
  /** Starts a worker on this file's task queue; stopped by `close()`. */
  startWorker(deps: ActivityDeps): Promise<Worker>;
  close(): Promise<void>;
}

/** A client and worker factory against the suite's Temporal dev server, on a task queue of its own. */
export async function connectTestTemporal(): Promise<TestTemporal> {
  installQuietRuntime();
  const address = testEnv('temporalAddress');
  const connection = await Connection.connect({ address });
  const client = new Client({
    connection,
    namespace: 'default',
    interceptors: { workflow: [correlationClientInterceptor()] },
    dataConverter: testDataConverter(),
  });
  const taskQueue = `test-${randomUUID()}`;
  const nativeConnection = await NativeConnection.connect({ address });
  const running: { worker: Worker; done: Promise<void> }[] = [];

  return {
    client,
    taskQueue,
    async startWorker(deps) {
      const worker = await createWorker({
        connection: nativeConnection,
        namespace: 'default',
        taskQueue,
        deps,
        workflowBundle: { codePath: testEnv('workflowBundle') },
        dataConverter: testDataConverter(),
        overrides: { shutdownGraceTime: '2 seconds' },
      });
      running.push({ worker, done: worker.run() });
      return worker;
    },
    async close() {
      for (const { worker, done } of running.splice(0)) {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await done;
      }
      await nativeConnection.close();
      await connection.close();
    },
  };
}
