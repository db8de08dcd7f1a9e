import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { DataConverter } from '@temporalio/common';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { WORKFLOW_INTERCEPTOR_MODULES, WORKFLOWS_PATH } from '../worker';
import { SAGA_TABLES } from '../workflows/sagas';
import { pluginSagas } from './plugins';

/**
 * The replay gate as a command (`saga replay <files or folders>`): recorded histories (the JSON
 * of `temporal workflow show --output json`) replay against today's workflow code, the
 * project's or a plugin's by the history's workflow type, so a change that would break runs
 * still open is found before it ships (docs/versioning.md).
 */

/** The installation cannot read recorded histories (two copies of protobufjs). */
export class HistoryReaderError extends Error {
  override readonly name = 'HistoryReaderError';
}

/** A history's JSON as the SDK replays it. */
function historyOf(json: HistoryJson): ReturnType<typeof historyFromJSON> {
  try {
    return historyFromJSON(json);
  } catch (err) {
    // The SDK's reader checks types across protobufjs instances: with two copies installed
    // (@temporalio/common's and @temporalio/proto's) no history can be read.
    if (/type must be a Type/.test((err as Error).message)) {
      throw new HistoryReaderError(
        'cannot read histories: @temporalio/common and @temporalio/proto use different copies of protobufjs; ' +
          'pin one in your package.json ("overrides": { "protobufjs": "<the version @temporalio/proto uses>" }) and reinstall',
      );
    }
    throw err;
  }
}

export interface ReplayOutcome {
  file: string;
  workflowType: string;
  /** Absent when the history replayed without nondeterminism. */
  error?: string;
}

interface HistoryJson {
  events?: { workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } } }[];
}

/** The `.json` files of the paths given, folders searched recursively, in name order. */
export function historyFiles(paths: readonly string[]): string[] {
  return paths.flatMap((p) =>
    statSync(p).isDirectory()
      ? readdirSync(p)
          .sort()
          .flatMap((name) => historyFiles([path.join(p, name)]))
      : p.endsWith('.json')
        ? [p]
        : [],
  );
}

/** Which workflow code replays a workflow type: the project's bundle entry or a plugin saga's module. */
function workflowsPathOf(workflowType: string): string | undefined {
  if (SAGA_TABLES.some((s) => s.name === workflowType)) return WORKFLOWS_PATH;
  return pluginSagas().find((s) => s.definition.name === workflowType)?.workflowsPath;
}

/** Replays every history file; each one's outcome, in file order. */
export async function replayHistoryFiles(
  paths: readonly string[],
  options: {
    /** The payload keys for histories recorded with encryption on. Default: none (clear-text histories). */
    dataConverter?: DataConverter;
  } = {},
): Promise<ReplayOutcome[]> {
  const outcomes = new Map<string, ReplayOutcome>();
  const groups = new Map<string, { workflowId: string; history: ReturnType<typeof historyFromJSON> }[]>();
  const files = historyFiles(paths);
  for (const file of files) {
    let json: HistoryJson;
    try {
      json = JSON.parse(readFileSync(file, 'utf8')) as HistoryJson;
    } catch (err) {
      outcomes.set(file, { file, workflowType: '?', error: `not JSON: ${(err as Error).message}` });
      continue;
    }
    const workflowType = json.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '?';
    const workflowsPath = workflowsPathOf(workflowType);
    if (!workflowsPath) {
      outcomes.set(file, { file, workflowType, error: `no registered saga runs workflow type ${workflowType}` });
      continue;
    }
    outcomes.set(file, { file, workflowType });
    // The file names the run: replay results come back by workflow id.
    groups.set(workflowsPath, [...(groups.get(workflowsPath) ?? []), { workflowId: file, history: historyOf(json) }]);
  }
  for (const [workflowsPath, histories] of groups) {
    const results = Worker.runReplayHistories(
      {
        workflowsPath,
        dataConverter: options.dataConverter,
        // The project's histories were recorded with its interceptors (correlation headers).
        interceptors: { workflowModules: workflowsPath === WORKFLOWS_PATH ? WORKFLOW_INTERCEPTOR_MODULES : [] },
      },
      histories,
    );
    for await (const result of results) {
      if (result.error) outcomes.get(result.workflowId)!.error = result.error.message;
    }
  }
  return files.map((f) => outcomes.get(f)!);
}
