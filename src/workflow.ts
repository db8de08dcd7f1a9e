/**
 * What workflow code may import (it runs in Temporal's deterministic sandbox): the Saga helper
 * with its compensations and operator escalation. Node-side pieces are in the main entry point.
 */
export {
  Saga,
  renderSagaDetails,
  retryCompensationSignal,
  markCompensationResolvedSignal,
  type SagaOptions,
  type SagaPhase,
  type SagaSnapshot,
  type StuckCompensation,
} from './saga/saga';
export type { CompensationOutcome, CompensationStatus } from './saga/compensations';
