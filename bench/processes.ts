import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..');

/** One of our roles (`saga worker`, `saga api` …) or a baseline, as a process of its own. */
export interface RoleProcess {
  name: string;
  child: ChildProcess;
  /** Peak resident set size so far (VmHWM), in MiB; NaN where /proc is not available. */
  peakRssMiB(): number;
  stop(): Promise<void>;
}

/** `node --import tsx <script>`: one process, so its RSS is the role's own. */
export const tsxCommand = (script: string): [string, ...string[]] => [
  process.execPath,
  '--import',
  'tsx',
  path.resolve(ROOT, script),
];

/** Starts `command …args` (ScenarioContext.sagaCommand, or `tsxCommand` of a baseline). */
export function spawnRole(
  name: string,
  command: readonly [string, ...string[]],
  args: string[],
  env: NodeJS.ProcessEnv,
): RoleProcess {
  const child = spawn(command[0], [...command.slice(1), ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.once('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM' && signal !== 'SIGKILL') {
      process.stderr.write(`[bench] ${name} exited (${signal ?? code}):\n${output}\n`);
    }
  });
  return {
    name,
    child,
    peakRssMiB() {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]);
        return kb / 1024;
      } catch {
        return Number.NaN;
      }
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
