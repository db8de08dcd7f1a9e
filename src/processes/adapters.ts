import type { ActivityDeps } from '../activities';
import { createSimulatedCarrier } from '../ports/simulators/carrier';
import { createSimulatedPaymentGateway } from '../ports/simulators/payment-gateway';
import type { Pool } from '../store/pool';
import type { Carrier } from '../ports/carrier';
import type { PaymentGateway } from '../ports/payment-gateway';

/**
 * The adapters a worker can be wired to, by the name `PAYMENT_ADAPTER` / `CARRIER_ADAPTER`
 * give. The simulators are the default (npm start, tests); a real provider is one more entry
 * here, built from what it needs (see README: "Writing a real adapter").
 */
export interface AdapterContext {
  pool: Pool;
}

export const PAYMENT_ADAPTERS = {
  simulator: ({ pool }: AdapterContext): PaymentGateway => createSimulatedPaymentGateway({ pool }),
} as const satisfies Record<string, (context: AdapterContext) => PaymentGateway>;

export const CARRIER_ADAPTERS = {
  simulator: (_context: AdapterContext): Carrier => createSimulatedCarrier(),
} as const satisfies Record<string, (context: AdapterContext) => Carrier>;

export type PaymentAdapterName = keyof typeof PAYMENT_ADAPTERS;
export type CarrierAdapterName = keyof typeof CARRIER_ADAPTERS;
export const PAYMENT_ADAPTER_NAMES = Object.keys(PAYMENT_ADAPTERS) as [PaymentAdapterName, ...PaymentAdapterName[]];
export const CARRIER_ADAPTER_NAMES = Object.keys(CARRIER_ADAPTERS) as [CarrierAdapterName, ...CarrierAdapterName[]];

/** The activities' dependencies with the configured adapters. */
export function activityDeps(
  pool: Pool,
  adapters: { payment: PaymentAdapterName; carrier: CarrierAdapterName } = {
    payment: 'simulator',
    carrier: 'simulator',
  },
): ActivityDeps {
  return {
    pool,
    paymentGateway: PAYMENT_ADAPTERS[adapters.payment]({ pool }),
    carrier: CARRIER_ADAPTERS[adapters.carrier]({ pool }),
  };
}
