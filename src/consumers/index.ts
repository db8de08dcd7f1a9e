import type { ConsumerDefinition } from '../delivery/consumer';
import { notifier } from './notifier';
import { orderSummaryProjector } from './order-summary';

export {
  defineConsumer,
  type ConsumedEvent,
  type ConsumerDefinition,
  type ConsumerOptions,
} from '../delivery/consumer';

/** Every consumer this project runs (`saga consume` with no names runs them all). */
export const CONSUMERS: readonly ConsumerDefinition[] = [orderSummaryProjector, notifier];

/** Consumers by name; an unknown name is a usage error. */
export function selectConsumers(names: readonly string[], all: readonly ConsumerDefinition[] = CONSUMERS) {
  if (names.length === 0) return [...all];
  const unknown = names.filter((n) => !all.some((c) => c.name === n));
  if (unknown.length) {
    throw new UnknownConsumerError(
      unknown,
      all.map((c) => c.name),
    );
  }
  return all.filter((c) => names.includes(c.name));
}

export class UnknownConsumerError extends Error {
  override readonly name = 'UnknownConsumerError';
  constructor(unknown: string[], known: string[]) {
    super(`Unknown consumer ${unknown.join(', ')} (known: ${known.join(', ')})`);
  }
}

export { topologyOf } from '../delivery/consumer';
