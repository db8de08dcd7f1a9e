import type { Role } from '../src/cluster/topology';

/**
 * The chaos suite's faults and their schedule. Pure, so the schedule is reviewed (and
 * unit-tested) apart from the run.
 */

export type Infrastructure = 'temporal' | 'postgres' | 'broker';
/** SIGSTOP, then SIGCONT after `hangMs`: a part that hangs instead of dying. */
export type HangKind = `hang-${'postgres' | 'temporal' | 'broker' | 'worker' | 'relay'}`;
export type FaultKind = Role | Infrastructure | HangKind;
export const FAULT_KINDS: readonly FaultKind[] = [
  'worker',
  'api',
  'relay',
  'consume',
  'temporal',
  'postgres',
  'broker',
  'hang-worker',
  'hang-relay',
  'hang-temporal',
  'hang-postgres',
  'hang-broker',
];

/** The part a fault hits (`hang-postgres` and `postgres` the same one). */
export const partOf = (kind: FaultKind): Role | Infrastructure => kind.replace(/^hang-/, '') as Role | Infrastructure;
export const isHang = (kind: FaultKind): kind is HangKind => kind.startsWith('hang-');

/**
 * The fault schedule's slots: the kinds in their (shuffled) turn, every third slot two at once,
 * the next kind that hits another part joining it (a part is never faulted twice at once).
 */
export function faultSlots(kinds: readonly FaultKind[]): FaultKind[][] {
  const rest = [...kinds];
  const slots: FaultKind[][] = [];
  while (rest.length) {
    const first = rest.shift()!;
    const partner = (slots.length + 1) % 3 === 0 ? rest.findIndex((k) => partOf(k) !== partOf(first)) : -1;
    slots.push(partner >= 0 ? [first, ...rest.splice(partner, 1)] : [first]);
  }
  return slots;
}
