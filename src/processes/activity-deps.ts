import type { ActivityDeps } from '../activities';
import { activityDeps } from './adapters';
import type { Pool } from '../store/pool';

/** The activities' dependencies with the simulated payment gateway and carrier (tests, demos). */
export function simulatedActivityDeps(pool: Pool): ActivityDeps {
  return activityDeps(pool, { payment: 'simulator', carrier: 'simulator' });
}
