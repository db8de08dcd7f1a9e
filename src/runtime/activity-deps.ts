import type { ActivityDeps } from '../activities';
import { createSimulatedCarrier } from '../simulators/carrier';
import { createSimulatedPaymentGateway } from '../simulators/payment-gateway';
import type { Pool } from '../store/pool';

/** The activities' dependencies with the simulated payment gateway and carrier. */
export function simulatedActivityDeps(pool: Pool): ActivityDeps {
  return { pool, paymentGateway: createSimulatedPaymentGateway({ pool }), carrier: createSimulatedCarrier() };
}
