import { readFileSync } from 'node:fs';
import path from 'node:path';
import { devLockFile, parseLockContent, type StackRecord } from '../processes/dev-lock';
import { isAlive } from '../util/process-alive';

/**
 * The `npm start` (`saga dev`) running on this machine, as its lock file
 * (DATA_DIR/dev.lock) records it: the CLI's way to find its API and database
 * without any configuration.
 */
export type LocalStackLookup =
  | { state: 'running'; file: string; pid: number; startedAt: string; stack: StackRecord }
  /** Its process runs but has not recorded its stack yet (still starting). */
  | { state: 'starting'; file: string; pid: number }
  /** No lock file, or one left by a process that is gone, or one that cannot be read. */
  | { state: 'absent'; file: string; why: 'no lock file' | 'stale lock' | 'unreadable lock' };

/** DATA_DIR as `saga dev` resolves it: relative to the current folder, default `.data`. */
export const dataDirOf = (env: NodeJS.ProcessEnv = process.env): string => path.resolve(env.DATA_DIR || '.data');

export function lookupLocalStack(
  dataDir: string = dataDirOf(),
  alive: (pid: number) => boolean = isAlive,
): LocalStackLookup {
  const file = devLockFile(dataDir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { state: 'absent', file, why: code === 'ENOENT' || code === 'ENOTDIR' ? 'no lock file' : 'unreadable lock' };
  }
  const lock = parseLockContent(text);
  if (!lock) return { state: 'absent', file, why: 'unreadable lock' };
  if (!alive(lock.pid)) return { state: 'absent', file, why: 'stale lock' };
  if (!lock.stack) return { state: 'starting', file, pid: lock.pid };
  return { state: 'running', file, pid: lock.pid, startedAt: lock.startedAt, stack: lock.stack };
}

/** A path as a message shows it: relative to the current folder when inside it. */
export function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

/** Says why no running stack was found, for a message: "`npm start` is not running (no .data/dev.lock)". */
export function describeNoStack(lookup: Exclude<LocalStackLookup, { state: 'running' }>): string {
  const file = displayPath(lookup.file);
  if (lookup.state === 'starting') return `\`npm start\` (pid ${lookup.pid}) is still starting: try again in a moment`;
  if (lookup.why === 'stale lock') return `\`npm start\` is not running (${file} is left from a process that is gone)`;
  if (lookup.why === 'unreadable lock') return `\`npm start\` is not running (${file} cannot be read)`;
  return `\`npm start\` is not running (no ${file})`;
}
