import { readdirSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import type { SagaDefinition } from '../../src/saga/definition';
import { ORDER_SAGA, RETURN_SAGA } from '../../src/workflows';
import { WORKFLOW_REVISION } from '../../src/workflows/revision';
import { testEnv } from '../helpers/env';
import { HISTORIES_DIR } from '../helpers/histories';
import { installQuietRuntime, testDataConverter } from '../helpers/temporal';

// The versioning gate (docs/versioning.md): recorded histories of every released workflow
// revision (test/replay/histories/r<N>/, added to, never rewritten) replay against today's
// workflow code, so a change that would break runs still open fails here. The current
// revision must hold a recording of every saga path.

interface HistoryEventJson {
  workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } };
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string } };
}

const PATHS = [
  'approval-approved',
  'approval-rejected',
  'approval-timeout',
  'carrier-refusal',
  'compensation-resolved-by-hand',
  'compensation-stuck-then-retried',
  'customer-cancel',
  'deadline-compensated',
  'deadline-escalated-abandoned',
  'deadline-escalated-retried',
  'declined-payment',
  'external-cancel',
  'happy-path',
  'out-of-stock',
  'placement-failed',
  'return-cancelled',
  'return-completed',
  'return-goods-timeout',
  'return-not-opened',
];

const revisions = readdirSync(HISTORIES_DIR)
  .filter((d) => /^r\d+$/.test(d))
  .sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
const recordings = revisions.flatMap((revision) =>
  readdirSync(path.join(HISTORIES_DIR, revision))
    .filter((f) => f.endsWith('.json'))
    .map((f) => [`${revision}/${f.replace(/\.json$/, '')}`, path.join(HISTORIES_DIR, revision, f)] as const),
);

beforeAll(installQuietRuntime);

describe('replay of recorded saga histories (orderSaga, returnSaga)', () => {
  it('keeps every revision up to the current one, and the current one covers every saga path', async () => {
    expect(revisions).toEqual(Array.from({ length: WORKFLOW_REVISION }, (_, i) => `r${i + 1}`));
    const current = (await readdir(path.join(HISTORIES_DIR, `r${WORKFLOW_REVISION}`)))
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.replace(/\.json$/, ''));
    expect(current.sort()).toEqual(PATHS);
  });

  // The saga tables drive the gate too: the current recordings run every activity of every
  // saga (each step, each compensation, the stop activity), so a step added to a table
  // without a recorded path fails here.
  it.each([ORDER_SAGA, RETURN_SAGA] as SagaDefinition<never, never>[])(
    'the current recordings cover every activity of $name',
    async (saga) => {
      const dir = path.join(HISTORIES_DIR, `r${WORKFLOW_REVISION}`);
      const scheduled = new Set<string>();
      for (const f of (await readdir(dir)).filter((x) => x.endsWith('.json'))) {
        const { events } = JSON.parse(await readFile(path.join(dir, f), 'utf8')) as { events: HistoryEventJson[] };
        if (events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name !== saga.name) continue;
        for (const e of events) {
          const type = e.activityTaskScheduledEventAttributes?.activityType?.name;
          if (type) scheduled.add(type);
        }
      }
      const activities = [
        ...saga.steps.flatMap((s) => [s.activity, ...(s.compensation ? [s.compensation.activity] : [])]),
        saga.onStop.activity,
      ];
      expect(activities.filter((a) => !scheduled.has(a))).toEqual([]);
    },
  );

  it.each(recordings)('replays %s without nondeterminism', async (name, file) => {
    const history = historyFromJSON(JSON.parse(await readFile(file, 'utf8')));
    await Worker.runReplayHistory(
      // With the suite's codec: recorded histories are clear text, which it passes through.
      { workflowBundle: { codePath: testEnv('workflowBundle') }, dataConverter: testDataConverter() },
      history,
      `replay-${name.replace('/', '-')}`,
    );
  });
});
