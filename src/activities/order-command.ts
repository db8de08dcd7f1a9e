import { decide, evolve, initialState, type OrderCommand, type OrderEvent, type OrderState } from '../domain/order';
import type { Decider } from '../domain/decider';
import type { Pool, Tx } from '../store/pool';
import {
  loadAggregate,
  runCommand,
  streamIdOf,
  type CommandPlan,
  type CommandTrace,
  type Loaded,
  type Traced,
} from './aggregate-command';

export { MissingCorrelationError, type Traced } from './aggregate-command';

/** The Order decider, for the activities' command runner (`aggregate-command.ts`). */
export const orderDecider: Decider<OrderState, OrderEvent, OrderCommand> = {
  aggregateType: 'order',
  initialState,
  evolve,
  decide,
};

/** Every order activity's input carries these. */
export interface OrderCommandInput extends CommandTrace {
  orderId: string;
}

export const orderStreamId = (orderId: string) => streamIdOf(orderDecider, orderId);

export type LoadedOrder = Loaded<OrderState>;

export async function loadOrder(db: Pool | Tx, orderId: string): Promise<LoadedOrder> {
  return loadAggregate(db, orderDecider, orderId);
}

export type OrderCommandPlan<R> = CommandPlan<OrderState, OrderEvent, OrderCommand, R>;

/**
 * The shape of every order activity: in ONE transaction, dedupe on the command id, load
 * and fold the order stream, decide, apply domain changes, append the events at the
 * expected version. A retry after a crash between commit and completion returns the
 * stored result and writes nothing.
 */
export async function runOrderCommand<R>(
  pool: Pool,
  input: OrderCommandInput,
  plan: (state: OrderState, tx: Tx) => Promise<OrderCommandPlan<R>> | OrderCommandPlan<R>,
): Promise<R & Traced> {
  return runCommand(pool, orderDecider, input.orderId, input, plan);
}
