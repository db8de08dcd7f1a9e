import type { Scenario } from '../harness';
import { appendScenario } from './append';
import { clusterScenario } from './cluster';
import { consoleOrdersScenario } from './console-orders';
import { projectionScenario } from './projection';
import { relayScenario } from './relay';
import { sagasScenario } from './sagas';

/** Every scenario, in run order (later ones may read figures earlier ones shared). */
export const SCENARIOS: readonly Scenario[] = [
  sagasScenario,
  clusterScenario,
  appendScenario,
  relayScenario,
  projectionScenario,
  consoleOrdersScenario,
];
