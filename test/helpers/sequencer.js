// Orders test files for two workers. Jest's own order runs the slowest first from its timing
// cache, but a fresh clone (CI) has none and falls back to file size, which put the two longest
// files (small files driving whole runs: the bench and chaos) last, each ending the run alone.
// Without a cache, the files below, the longest measured, start first in this order.
const Sequencer = require('@jest/test-sequencer').default;
const path = require('node:path');

const LONGEST_FIRST = [
  'integration/bench.test.ts',
  'integration/chaos.test.ts',
  'integration/package-install.test.ts',
  'integration/relay-faults.test.ts',
  'integration/graceful-shutdown.test.ts',
  'integration/console.test.ts',
  'integration/dev-stack.test.ts',
  'integration/cli.test.ts',
  'integration/delivery.test.ts',
];

const rank = (test) => {
  const i = LONGEST_FIRST.findIndex((f) => test.path.endsWith(path.join('test', f)));
  return i === -1 ? LONGEST_FIRST.length : i;
};

class LongestFirstSequencer extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    const timed = tests.some((t) => this._getCache(t)[t.path]?.[1] !== undefined);
    if (timed) return sorted;
    // Array.prototype.sort is stable: the rest keep jest's order (by size).
    return [...sorted].sort((a, b) => rank(a) - rank(b));
  }
}

module.exports = LongestFirstSequencer;
