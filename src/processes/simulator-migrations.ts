import type { PaymentAdapterName } from './adapters';

/**
 * Whether a database serving these adapters needs the simulator migration set
 * (`SIMULATOR_MIGRATIONS`, schema `simulators`): the payment gateway simulator keeps its books
 * there; the carrier simulator keeps none. A database for real adapters gets no simulator table.
 */
export function needsSimulatorMigrations(adapters: { readonly payment: PaymentAdapterName }): boolean {
  return adapters.payment === 'simulator';
}
