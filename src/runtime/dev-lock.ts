import { existsSync, readFileSync, writeFileSync, openSync, closeSync, unlinkSync } from 'node:fs';
import path from 'node:path';

/** Another `saga dev` owns this data folder. */
export class AlreadyRunningError extends Error {
  override readonly name = 'AlreadyRunningError';
}

interface LockContent {
  pid: number;
  startedAt: string;
  /** Children to clean up if this process dies without stopping them. */
  children: { pid: number; command: string }[];
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

export interface DevLock {
  /** Records a child so a later run can stop it if this one is killed. */
  addChild(pid: number | undefined, command: string): void;
  release(): void;
}

/**
 * One `saga dev` per data folder. A lock left by a process that was killed is taken over,
 * after stopping children it recorded that still run (checked by command line, so a
 * recycled pid is never hit).
 */
export function acquireDevLock(dataDir: string): DevLock {
  const file = path.join(dataDir, 'dev.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      closeSync(openSync(file, 'wx'));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let held: LockContent | undefined;
      try {
        held = JSON.parse(readFileSync(file, 'utf8')) as LockContent;
      } catch {
        held = undefined; // empty or torn lock file: treat as stale
      }
      if (held && held.pid !== process.pid && isAlive(held.pid)) {
        throw new AlreadyRunningError(
          `saga dev is already running (pid ${held.pid}, since ${held.startedAt}) with data in ${dataDir}.\n` +
            `Stop it (Ctrl-C in its terminal, or kill ${held.pid}) before starting another.`,
        );
      }
      for (const child of held?.children ?? []) {
        if (isAlive(child.pid) && commandLine(child.pid).includes(child.command)) {
          process.kill(child.pid, 'SIGKILL');
        }
      }
      unlinkSync(file);
    }
  }
  const content: LockContent = { pid: process.pid, startedAt: new Date().toISOString(), children: [] };
  const write = () => writeFileSync(file, JSON.stringify(content));
  write();
  return {
    addChild(pid, command) {
      if (pid === undefined) return;
      content.children.push({ pid, command });
      write();
    },
    release() {
      if (existsSync(file)) unlinkSync(file);
    },
  };
}
