import { NativeConnection, Worker } from '@temporalio/worker';
import { encryptionDataConverter, parsePayloadKeys } from '../../src/temporal/payload-codec';

/** No-op activities for the baseline workflow. */
export const noopActivities = {
  async noop(i: number): Promise<number> {
    return i;
  },
};
export type NoopActivities = typeof noopActivities;

/**
 * The baseline worker, a process of its own like `saga worker`, with the same Worker
 * settings as the project's (SDK defaults plus the same shutdown grace).
 * Env: TEMPORAL_ADDRESS, TASK_QUEUE, NOOP_WORKFLOW_BUNDLE (optional: a bundle of noop-workflow).
 */
async function main() {
  const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  const worker = await Worker.create({
    connection,
    namespace: 'default',
    taskQueue: process.env.TASK_QUEUE!,
    // Bundled once per bench run, as the saga workers' WORKFLOW_BUNDLE is.
    ...(process.env.NOOP_WORKFLOW_BUNDLE
      ? { workflowBundle: { codePath: process.env.NOOP_WORKFLOW_BUNDLE } }
      : { workflowsPath: require.resolve('./noop-workflow') }),
    activities: noopActivities,
    // Encryption as the project's worker has it (PAYLOAD_KEYS from the bench): same cost per payload.
    dataConverter: encryptionDataConverter(parsePayloadKeys(process.env.PAYLOAD_KEYS!)),
    shutdownGraceTime: '10 seconds',
  });
  process.once('SIGTERM', () => worker.shutdown());
  console.log('baseline worker ready');
  await worker.run();
  await connection.close();
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
