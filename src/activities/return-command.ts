import { returnDecider, type ReturnCommand, type ReturnEvent, type ReturnState } from '../domain/return';
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

/** Every return activity's input carries these (`commandId` deterministic per saga step). */
export interface ReturnCommandInput extends CommandTrace {
  returnId: string;
}

export const returnStreamId = (returnId: string) => streamIdOf(returnDecider, returnId);

export type LoadedReturn = Loaded<ReturnState>;

export async function loadReturn(db: Pool | Tx, returnId: string): Promise<LoadedReturn> {
  return loadAggregate(db, returnDecider, returnId);
}

export type ReturnCommandPlan<R> = CommandPlan<ReturnState, ReturnEvent, ReturnCommand, R>;

/**
 * `runOrderCommand` for the Return aggregate: one transaction, once per command id. Alike on
 * purpose: each aggregate has its typed facade over aggregate-command.ts, which holds the logic.
 */
export async function runReturnCommand<R>(
  pool: Pool,
  input: ReturnCommandInput,
  plan: (state: ReturnState, tx: Tx) => Promise<ReturnCommandPlan<R>> | ReturnCommandPlan<R>,
): Promise<R & Traced> {
  return runCommand(pool, returnDecider, input.returnId, input, plan);
}
