import type { Scenario } from '../harness';

/** Every scenario, in run order (later ones may read figures earlier ones shared). */
export const SCENARIOS: readonly Scenario[] = [];
