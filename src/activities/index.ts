import type { Carrier } from '../ports/carrier';
import type { PaymentGateway } from '../ports/payment-gateway';
import type { Pool } from '../store/pool';
import { withFailureMapping } from './failures';
import { createOrderActivities } from './order-activities';
import { createReturnActivities } from './return-activities';

export interface ActivityDeps {
  pool: Pool;
  paymentGateway: PaymentGateway;
  carrier: Carrier;
}

/** Builds every activity with its dependencies injected (Temporal samples' factory pattern). */
export function createActivities(deps: ActivityDeps) {
  return withFailureMapping({ ...createOrderActivities(deps), ...createReturnActivities(deps) });
}

export type Activities = ReturnType<typeof createActivities>;
export type { OrderCommandInput, Traced } from './order-command';
export type { ReturnCommandInput } from './return-command';
