// A worker in its own process, so a test can kill it with SIGKILL mid-flight.
// Env: SAGA_TEST_TEMPORAL_ADDRESS, SAGA_TEST_WORKFLOW_BUNDLE, WORKER_DATABASE_URL, WORKER_TASK_QUEUE.
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import { simulatedActivityDeps } from '../../src/processes/activity-deps';
import { createPool } from '../../src/store/pool';
import { createWorker } from '../../src/worker';
import { testDataConverter } from './temporal';
import { testEnv } from './env';

async function main() {
  Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: ['SIGTERM'] });
  const pool = createPool(process.env.WORKER_DATABASE_URL!, { max: 20 });
  const connection = await NativeConnection.connect({ address: testEnv('temporalAddress') });
  const worker = await createWorker({
    connection,
    namespace: 'default',
    taskQueue: process.env.WORKER_TASK_QUEUE!,
    deps: simulatedActivityDeps(pool),
    workflowBundle: { codePath: testEnv('workflowBundle') },
    dataConverter: testDataConverter(),
  });
  const running = worker.run();
  process.stdout.write('worker ready\n');
  await running;
  await connection.close();
  await pool.end();
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
