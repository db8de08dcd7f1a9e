import { chmodSync, closeSync, existsSync, openSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { isAlive } from '../util/process-alive';

/** Another `saga dev` owns this data folder. */
export class AlreadyRunningError extends Error {
  override readonly name = 'AlreadyRunningError';
}

/**
 * What a running `saga dev` serves, so the CLI on the same machine can find it
 * (`saga dlq list` reaches its API, `saga migrate` its database). The database URL may
 * carry a password: the lock file is readable by its owner only (0600).
 */
export interface StackRecord {
  /** The HTTP API as a client reaches it, e.g. http://127.0.0.1:3000. */
  apiUrl: string;
  /** The embedded PostgreSQL's URL, or DATABASE_URL. */
  databaseUrl: string;
  temporalAddress: string;
  temporalNamespace: string;
  /** The Temporal Web UI; null when the dev server runs headless. */
  temporalUiUrl: string | null;
}

const stackSchema = z.object({
  apiUrl: z.url({ protocol: /^https?$/ }),
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\//),
  temporalAddress: z.string().min(1),
  temporalNamespace: z.string().min(1),
  temporalUiUrl: z.string().nullable(),
});

const lockSchema = z.object({
  pid: z.number().int().positive(),
  startedAt: z.string(),
  /** Children to clean up if this process dies without stopping them. */
  children: z.array(z.object({ pid: z.number().int().positive(), command: z.string() })).default([]),
  /** Set once the stack is up (absent while it starts). */
  stack: stackSchema.optional().catch(undefined),
});

export type LockContent = z.infer<typeof lockSchema>;

/** The API as a client on this machine reaches it: loopback for a wildcard or loopback listener. */
export function clientApiUrl(host: string, port: number): string {
  if (host === '::1') return `http://[::1]:${port}`;
  if (['0.0.0.0', '::', 'localhost'].includes(host) || host.startsWith('127.')) return `http://127.0.0.1:${port}`;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export const devLockFile = (dataDir: string) => path.join(dataDir, 'dev.lock');

/** The lock file's content, or undefined when it is empty, torn or not a lock. An unreadable `stack` is dropped. */
export function parseLockContent(text: string): LockContent | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = lockSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
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
  /** Records what the stack serves, once it is up (read by `saga` commands: src/cli/local-stack.ts). */
  recordStack(stack: StackRecord): void;
  release(): void;
}

/**
 * One `saga dev` per data folder. A lock left by a process that was killed is taken over,
 * after stopping children it recorded that still run (checked by command line, so a
 * recycled pid is never hit).
 */
export function acquireDevLock(dataDir: string): DevLock {
  const file = devLockFile(dataDir);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      closeSync(openSync(file, 'wx', 0o600));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // Empty or torn lock file: treat as stale.
      const held = parseLockContent(readFileSync(file, 'utf8'));
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
  const write = () => {
    writeFileSync(file, JSON.stringify(content), { mode: 0o600 });
    chmodSync(file, 0o600); // `mode` applies only when the file is created
  };
  write();
  return {
    addChild(pid, command) {
      if (pid === undefined) return;
      content.children.push({ pid, command });
      write();
    },
    recordStack(stack) {
      content.stack = stack;
      write();
    },
    release() {
      if (existsSync(file)) unlinkSync(file);
    },
  };
}
