import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { testEnv } from '../helpers/env';
import { HISTORIES_DIR } from '../helpers/histories';
import { installQuietRuntime } from '../helpers/temporal';

// Recorded histories of every saga path replayed against today's workflow code: a change
// that would break determinism for running orders fails here. Re-record deliberately with
// `npm run record-histories` when a change is versioned (patched) or no old runs exist.

const EXPECTED = [
  'approval-timeout',
  'carrier-refusal',
  'customer-cancel',
  'declined-payment',
  'happy-path',
  'out-of-stock',
];

beforeAll(installQuietRuntime);

describe('replay of recorded orderSaga histories', () => {
  it('has a recorded history for every saga path', async () => {
    const names = (await readdir(HISTORIES_DIR))
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.replace(/\.json$/, ''));
    expect(names.sort()).toEqual(EXPECTED);
  });

  it.each(EXPECTED)('replays %s without nondeterminism', async (name) => {
    const raw = JSON.parse(await readFile(path.join(HISTORIES_DIR, `${name}.json`), 'utf8'));
    const history = historyFromJSON(raw);
    await Worker.runReplayHistory(
      { workflowBundle: { codePath: testEnv('workflowBundle') } },
      history,
      `replay-${name}`,
    );
  });
});
