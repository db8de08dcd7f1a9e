import { proxyActivities } from '@temporalio/workflow';
import type { NoopActivities } from './noop-worker';

const { noop } = proxyActivities<NoopActivities>({ startToCloseTimeout: '10 seconds' });

/** The saga's baseline: a bare workflow running `steps` no-op activities one after another. */
export async function noopWorkflow(steps: number): Promise<number> {
  for (let i = 0; i < steps; i++) await noop(i);
  return steps;
}
