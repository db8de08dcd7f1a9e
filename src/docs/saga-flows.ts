import type { EventDefinition } from '../events/catalog';
import { flowOf, type FlowStep, type SagaDefinition } from '../saga/definition';
import { SAGA_TABLES } from '../workflows/sagas';

/** The saga flows the catalog's producers belong to, as the generated docs show them. */

/** A saga as the docs show it: its steps (from its table), its stop activity and when that runs. */
export interface SagaFlow {
  name: string;
  steps: readonly FlowStep[];
  /** The activity that ends every stopped run, after the compensations. */
  final: string;
  finalWhen: string;
  /** Checklist items whose wait (an operator's decision, goods to arrive) can stop the saga. */
  waits: string[];
}

export function sagaFlow(definition: SagaDefinition<never, never>): SagaFlow {
  return {
    name: definition.name,
    steps: flowOf(definition),
    final: definition.onStop.activity,
    finalWhen: definition.onStop.describe,
    waits: [...new Set(definition.steps.filter((s) => s.before).map((s) => s.checklist ?? s.name))],
  };
}

/** Each saga's table is the one source of its steps (src/workflows/). */
export const SAGAS: readonly SagaFlow[] = SAGA_TABLES.map((d) => sagaFlow(d));

/** `'orderSaga / reserveInventory'` → `'reserveInventory'`. */
export const producerActivity = (producer: string): string => producer.split('/').at(-1)!.trim();

export const unique = <T>(items: T[]): T[] => [...new Set(items)];

/** The events an activity appends. */
export function eventsBy(definitions: readonly EventDefinition[], activity: string): EventDefinition[] {
  return definitions.filter((d) => producerActivity(d.producer) === activity);
}

/** Every activity of the sagas' flows: forward steps, their undos (last first), the stop activity. */
export function sagaActivities(saga: SagaFlow): string[] {
  return [
    ...saga.steps.flatMap((s) => s.activities),
    ...[...saga.steps].reverse().flatMap((s) => (s.undo ? [s.undo] : [])),
    saga.final,
  ];
}

/** Every activity that produces events in the order it appears in the sagas. */
export function orderedActivities(
  definitions: readonly EventDefinition[],
  sagas: readonly SagaFlow[] = SAGAS,
): string[] {
  const known = sagas.flatMap(sagaActivities);
  const producers = unique(definitions.map((d) => producerActivity(d.producer)));
  return [...known.filter((a) => producers.includes(a)), ...producers.filter((p) => !known.includes(p))];
}
