// Orders test files for the workers (maxWorkers in jest.config.js).
//
// 1. A file that takes one of the integration files' `sharedByAll` resources exclusively
//    (`exclusively('rabbitmq')`) runs while no other integration file does. First, with the unit
//    files right behind it, the other workers run unit files meanwhile instead of waiting.
// 2. Then the integration files, longest first. Jest's own order does that from its timing
//    cache, but a fresh clone (CI) has none and falls back to file size, which put the longest
//    files (small files driving whole runs: the bench and chaos) last, each ending the run
//    alone; of the files without a time, the ones below, the longest measured, start first in
//    this order.
//    The type check (the compilers at a lower priority) starts early too, so that it fills the
//    cores the others leave idle over much of the run instead of running alone at its end.
const { readFileSync } = require('node:fs');
const path = require('node:path');
const Sequencer = require('@jest/test-sequencer').default;

const LONGEST_FIRST = [
  'integration/bench.test.ts',
  'integration/chaos.test.ts',
  'integration/package-install.test.ts',
  'integration/typecheck.test.ts',
  'integration/relay-faults.test.ts',
  'integration/graceful-shutdown.test.ts',
  'integration/console.test.ts',
  'integration/dev-stack.test.ts',
  'integration/cli.test.ts',
  'integration/delivery.test.ts',
];

const longestRank = (test) => {
  const i = LONGEST_FIRST.findIndex((f) => test.path.endsWith(path.join('test', f)));
  return i === -1 ? LONGEST_FIRST.length : i;
};

/** Whether the file takes one of its project's `sharedByAll` resources exclusively. */
function runsAlone(test) {
  const shared = test.context.config.testEnvironmentOptions?.sharedByAll ?? [];
  if (shared.length === 0) return false;
  const source = readFileSync(test.path, 'utf8');
  return shared.some((resource) => source.includes(`exclusively('${resource}')`));
}

const isUnit = (test) => test.context.config.displayName?.name === 'unit';

class SuiteSequencer extends Sequencer {
  sort(tests) {
    // Jest's order: files it has no time for first (largest first), then the others longest first.
    const sorted = super.sort(tests);
    // Of the files it has no time for (all of them on a fresh clone; most after a run of a few
    // files), the listed ones first. Array.prototype.sort is stable: otherwise jest's order stands.
    const rank = (t) => (t.duration == null ? longestRank(t) : LONGEST_FIRST.length);
    const ordered = [...sorted].sort((a, b) => rank(a) - rank(b));
    // Each file read once, not once per comparison.
    const groups = new Map(tests.map((t) => [t, runsAlone(t) ? 0 : isUnit(t) ? 1 : 2]));
    return ordered.sort((a, b) => groups.get(a) - groups.get(b));
  }
}

module.exports = SuiteSequencer;
