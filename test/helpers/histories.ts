import { execFile } from 'node:child_process';
import { access, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { WorkflowHandle } from '@temporalio/client';
import { WORKFLOW_REVISION } from '../../src/workflows/revision';
import { testEnv } from './env';

/** Histories per released workflow revision: `r1/`, `r2/` … (never rewritten, only added to). */
export const HISTORIES_DIR = path.resolve(__dirname, '../replay/histories');
export const CURRENT_HISTORIES_DIR = path.join(HISTORIES_DIR, `r${WORKFLOW_REVISION}`);

/**
 * With RECORD_HISTORIES=1 (`npm run record-histories`), saves a finished workflow's history
 * as a replay fixture; otherwise does nothing. The Temporal CLI writes the JSON form the SDK
 * replays (`temporal workflow show --output json`).
 */
export async function recordHistory(name: string, handle: WorkflowHandle): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const file = path.join(CURRENT_HISTORIES_DIR, `${name}.json`);
  // Released recordings are the gate: a new behaviour gets a new revision, not a rewrite.
  if (
    await access(file).then(
      () => true,
      () => false,
    )
  ) {
    throw new Error(`${path.relative(process.cwd(), file)} exists: bump WORKFLOW_REVISION to record a changed saga`);
  }
  await mkdir(CURRENT_HISTORIES_DIR, { recursive: true });
  const { stdout } = await promisify(execFile)(
    testEnv('temporalCli'),
    [
      'workflow',
      'show',
      '--workflow-id',
      handle.workflowId,
      '--output',
      'json',
      '--address',
      testEnv('temporalAddress'),
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  // Stack traces name folders of the machine that recorded them; replay does not use them.
  const json = JSON.stringify(JSON.parse(stdout), (key, value) => (key === 'stackTrace' ? '' : value), 2);
  await writeFile(file, `${json}\n`);
}
