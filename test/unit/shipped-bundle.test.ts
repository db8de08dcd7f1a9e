import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { shippedWorkflowBundle } from '../../src/worker';

// Which workflow code a worker started from dist/ loads: the build's bundle only when it holds
// the @temporalio/workflow this process resolves.
const sdk = (require('@temporalio/workflow/package.json') as { version: string }).version;
let dir: string;
beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'saga-shipped-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const ship = (info?: object) => {
  writeFileSync(path.join(dir, 'workflow-bundle.js'), '/* bundle */');
  if (info) writeFileSync(path.join(dir, 'workflow-bundle.json'), JSON.stringify(info));
};

it('is the bundle beside the worker when it was built with the SDK this process resolves', () => {
  ship({ workflowSdk: sdk });
  expect(shippedWorkflowBundle(dir)).toBe(path.join(dir, 'workflow-bundle.js'));
});

it('is none when the bundle holds another @temporalio/workflow (an install resolved a newer SDK)', () => {
  ship({ workflowSdk: '0.0.1' });
  expect(shippedWorkflowBundle(dir)).toBeUndefined();
});

it('is none without the bundle or without what it was built with (running from the sources)', () => {
  expect(shippedWorkflowBundle(dir)).toBeUndefined();
  ship();
  expect(shippedWorkflowBundle(dir)).toBeUndefined();
});
