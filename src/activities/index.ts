import type { Pool } from '../store/pool';
import { createOrderActivity } from './create-order';

export interface ActivityDeps {
  pool: Pool;
}

/** Builds every activity with its dependencies injected (Temporal samples' factory pattern). */
export function createActivities(deps: ActivityDeps) {
  return {
    createOrder: createOrderActivity(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { CreateOrderInput, CreateOrderResult } from './create-order';
