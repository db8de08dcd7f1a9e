import type { ActivityDeps } from '../activities';
import { createSimulatedCarrier } from '../ports/simulators/carrier';
import { createSimulatedPaymentGateway } from '../ports/simulators/payment-gateway';
import type { Pool } from '../store/pool';
import type { Carrier } from '../ports/carrier';
import type { PaymentGateway } from '../ports/payment-gateway';

/**
 * The adapters a worker can be wired to, by the name `PAYMENT_ADAPTER` / `CARRIER_ADAPTER`
 * give. The simulators are the default (npm start, tests); a real provider is registered by
 * a plugin (`definePlugin({ adapters })`, docs/extending.md "Writing a real adapter").
 */
export interface AdapterContext {
  pool: Pool;
}

export type PaymentAdapterFactory = (context: AdapterContext) => PaymentGateway;
export type CarrierAdapterFactory = (context: AdapterContext) => Carrier;

/** What a plugin registers: factories by adapter name. */
export interface AdapterRegistrations {
  payment?: Readonly<Record<string, PaymentAdapterFactory>>;
  carrier?: Readonly<Record<string, CarrierAdapterFactory>>;
}

/** The built-in adapters (the first of each is the default). */
export const PAYMENT_ADAPTERS: Readonly<Record<string, PaymentAdapterFactory>> = {
  simulator: ({ pool }) => createSimulatedPaymentGateway({ pool }),
};
export const CARRIER_ADAPTERS: Readonly<Record<string, CarrierAdapterFactory>> = {
  simulator: () => createSimulatedCarrier(),
};

export type PaymentAdapterName = string;
export type CarrierAdapterName = string;

const registry = {
  payment: new Map(Object.entries(PAYMENT_ADAPTERS)),
  carrier: new Map(Object.entries(CARRIER_ADAPTERS)),
};

/** The names `PAYMENT_ADAPTER` / `CARRIER_ADAPTER` accept in this process, the default first. */
export const adapterNames = (port: 'payment' | 'carrier'): [string, ...string[]] =>
  [...registry[port].keys()] as [string, ...string[]];

/** Adds adapters (a plugin's); a name already taken is refused, nothing is replaced. */
export function registerAdapters(adapters: AdapterRegistrations): void {
  for (const port of ['payment', 'carrier'] as const) {
    for (const name of Object.keys(adapters[port] ?? {})) {
      if (registry[port].has(name)) throw new Error(`the ${port} adapter ${name} is already registered`);
    }
  }
  for (const port of ['payment', 'carrier'] as const) {
    for (const [name, factory] of Object.entries(adapters[port] ?? {})) {
      (registry[port] as Map<string, PaymentAdapterFactory | CarrierAdapterFactory>).set(name, factory);
    }
  }
}

function factoryOf<F>(port: 'payment' | 'carrier', name: string): F {
  const factory = registry[port].get(name);
  // Config refuses unknown names at start-up; this guards a direct caller.
  if (!factory) throw new Error(`no ${port} adapter named ${name} (registered: ${adapterNames(port).join(', ')})`);
  return factory as F;
}

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
    paymentGateway: factoryOf<PaymentAdapterFactory>('payment', adapters.payment)({ pool }),
    carrier: factoryOf<CarrierAdapterFactory>('carrier', adapters.carrier)({ pool }),
  };
}
