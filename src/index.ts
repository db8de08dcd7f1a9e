/**
 * The public entry point for teams building on the orchestrator (Node side: workers,
 * consumers, the API, delivery). Workflow code imports `saga-orchestrator/workflow` instead,
 * which holds only what may run inside the workflow sandbox.
 */

// Plugins: a team's sagas, events, consumers and adapters, loaded by `saga` from SAGA_PLUGINS
export {
  definePlugin,
  type SagaPlugin,
  type SagaPluginOptions,
  type PluginSaga,
  registeredConsumers,
  registeredSagas,
} from './processes/plugins';
export { replayHistoryFiles, type ReplayOutcome } from './processes/replay';
/** The zod the event catalog validates with: event schemas are built with it. */
export { z } from 'zod';

// Consumers on the delivery runtime
export { defineConsumer, type ConsumedEvent, type ConsumerDefinition, type ConsumerOptions } from './delivery/consumer';
export { CONSUMERS } from './consumers';
export { startDelivery, type DeliveryOptions } from './delivery/start';
export type { TransportKind } from './delivery/contract';

// Ports and adapters of the outside world
export type { PaymentGateway } from './ports/payment-gateway';
export type { Carrier } from './ports/carrier';
export {
  activityDeps,
  adapterNames,
  PAYMENT_ADAPTERS,
  CARRIER_ADAPTERS,
  type AdapterRegistrations,
  type AdapterContext,
} from './processes/adapters';
export { PaymentDeclinedError, AddressRefusedError, TransientError, OutOfStockError } from './domain/errors';

// Event contracts
export {
  EVENT_DEFINITIONS,
  upcastToLatest,
  validateNewEvent,
  type EventDefinition,
  type EventVersion,
  type Upcaster,
} from './events/catalog';
export type { EventEnvelope } from './events/envelope';
export {
  appendToStream,
  readStream,
  currentStreamVersion,
  StreamVersionConflictError,
  type NewEvent,
  type StoredEvent,
} from './store/event-store';
export { executeOnce } from './store/commands';
export { createPool, withTransaction, type Pool, type Tx } from './store/pool';

// Processes
export { createWorker, connectWorker } from './worker';
// Payload encryption: what every client and worker of the project passes as `dataConverter`.
export {
  encryptionDataConverter,
  EncryptionCodec,
  parsePayloadKeys,
  generatePayloadKey,
  UnknownPayloadKeyError,
  PayloadDecryptionError,
  PayloadKeyError,
  type PayloadKeyring,
} from './temporal/payload-codec';
export { createTemporalClient } from './temporal/client';
export { explore, type ExploreOptions, type ExploreReport, type ScenarioResult } from './explore/explore';
export { scenariosOf, quickScenarios, type Scenario, type Fault, type FaultKind } from './explore/scenarios';
export { formatMatrix } from './explore/matrix';
export type { ExploreTarget, Run as ExploreRun, Check as ExploreCheck, TargetContext } from './explore/target';
export { buildApp, type ApiDeps } from './api/app';
export { loadConfig, ConfigError, type Config } from './processes/config';
