/**
 * What workflow code may import (it runs in Temporal's deterministic sandbox): saga tables
 * (`defineSaga`) and the runtime that runs them (`SagaRun`: steps, deadlines, compensation,
 * operator escalation), and the lower-level `Saga` helper underneath. Node-side pieces are in
 * the main entry point.
 */
export {
  defineSaga,
  checklistOf,
  flowOf,
  commandSuffix,
  STEP_DEFAULTS,
  COMPENSATION_DEFAULTS,
  SagaDefinitionError,
  type SagaDefinition,
  type SagaStepDefinition,
  type ActivityCall,
  type ActivityName,
  type SagaActivities,
  type SagaStepOptions,
  type StepInput,
  type StepResult,
  type SagaContext,
  type SagaControl,
  type SagaStop,
  type DeadlineAction,
  type StepDefaults,
  type CompensationDefaults,
  type ChecklistItem,
  type FlowStep,
} from './saga/definition';
export {
  SagaRun,
  SagaStopped,
  describeStop,
  DEADLINE_EXCEEDED,
  notStarted,
  type SagaRunOptions,
  type SagaOutcome,
  type SagaProgress,
  type ChecklistLine,
} from './saga/runtime';
export {
  Saga,
  renderSagaDetails,
  retryCompensationSignal,
  markCompensationResolvedSignal,
  retryStepSignal,
  abandonStepSignal,
  type StepEscalationDecision,
  type SagaOptions,
  type SagaPhase,
  type SagaSnapshot,
  type StuckCompensation,
} from './saga/saga';
export type { CompensationOutcome, CompensationStatus } from './saga/compensations';
export { SagaFrame, type FramedStatus, type SagaFrameOptions, type StopRequest } from './saga/frame';
