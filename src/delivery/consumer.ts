import type { EventEnvelope } from '../events/envelope';
import { eventDefinition } from '../events/catalog';
import type { Tx } from '../store/pool';
import type { ConsumerTopology } from './contract';

/** What a handler receives: the envelope upcast to the newest schema version, plus log facts. */
export interface ConsumedEvent extends EventEnvelope {
  streamId: string;
  globalPosition: number;
  metadata: Record<string, unknown>;
}

export interface ConsumerOptions {
  /** Lower-case letters, digits and dashes; names the inbox rows, queues and checkpoints. */
  name: string;
  /** Event types (from the catalog) this consumer handles; others pass it by. */
  handles: readonly string[];
  /**
   * Applies the event's effects with `tx`, the transaction that also records the event in the
   * inbox: commit means handled exactly once. Throwing rolls both back and retries.
   */
  handle(event: ConsumedEvent, tx: Tx): Promise<void>;
  /** Attempts before the event goes to dead_letters. Default 5. */
  maxAttempts?: number;
  /** Backoff between attempts, with jitter. Default 100 ms doubling up to 2 s. */
  backoff?: { initialMs: number; maxMs: number };
  /** Partitions by hash of the stream id; each is owned by one running instance at a time. Default 1. */
  partitions?: number;
}

export type ConsumerDefinition = Required<Omit<ConsumerOptions, 'handles'>> & { handles: ReadonlySet<string> };

/** A consumer definition is invalid (a programming error, found when the module loads). */
export class ConsumerDefinitionError extends Error {
  override readonly name = 'ConsumerDefinitionError';
}

export const MAX_PARTITIONS = 64;

export function defineConsumer(options: ConsumerOptions): ConsumerDefinition {
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(options.name)) {
    throw new ConsumerDefinitionError(`Consumer name "${options.name}" must be lower-case letters, digits and dashes`);
  }
  if (options.handles.length === 0) throw new ConsumerDefinitionError(`Consumer ${options.name} handles no event type`);
  for (const type of options.handles) eventDefinition(type); // throws UnknownEventTypeError
  const partitions = options.partitions ?? 1;
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS) {
    throw new ConsumerDefinitionError(`Consumer ${options.name}: partitions must be 1..${MAX_PARTITIONS}`);
  }
  const maxAttempts = options.maxAttempts ?? 5;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new ConsumerDefinitionError(`Consumer ${options.name}: maxAttempts must be a positive integer`);
  }
  return {
    name: options.name,
    handles: new Set(options.handles),
    handle: options.handle,
    maxAttempts,
    backoff: options.backoff ?? { initialMs: 100, maxMs: 2000 },
    partitions,
  };
}

/** What a broker must hold for a consumer: its queues or durables, bound to what it handles. */
export const topologyOf = (consumer: ConsumerDefinition): ConsumerTopology => ({
  consumer: consumer.name,
  handles: [...consumer.handles],
  partitions: consumer.partitions,
});
