import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import { signalIfAlive } from '../util/process-tree';
import { waitFor } from '../util/wait';
import type { ProcessSpec } from './topology';

export interface ManagedProcessOptions {
  /** Program and leading arguments that run `saga` (the spec's args follow). */
  command: [string, ...string[]];
  cwd: string;
  /** Environment of every process of the cluster; the spec's variables go on top. */
  env: NodeJS.ProcessEnv;
  /** Output goes to `<logDir>/<name>.log`, appended across restarts. */
  logDir: string;
  /** Pause before a process that died is started again. Default 1 s. */
  restartDelayMs?: number;
  /** Told about starts and unexpected exits (for the supervisor's log). */
  onEvent?: (event: { name: string; event: 'started' | 'exited'; detail?: string }) => void;
}

/**
 * One process of the topology under a supervisor: started again when it dies, as an
 * orchestrator's restart policy would (`restart: unless-stopped`), until `stop()`.
 */
export class ManagedProcess {
  private child: ChildProcess | undefined;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  /** The child that `pause()` stopped, until `resume()` or its exit. */
  private pausedChild: ChildProcess | undefined;
  private readonly log: WriteStream;
  /** How many times it was started. */
  starts = 0;

  constructor(
    readonly spec: ProcessSpec,
    private readonly options: ManagedProcessOptions,
  ) {
    this.log = createWriteStream(path.join(options.logDir, `${spec.name}.log`), { flags: 'a' });
  }

  get name(): string {
    return this.spec.name;
  }

  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  start(): void {
    const [program, ...leading] = this.spec.program ? [this.spec.program] : this.options.command;
    const child = spawn(program, [...leading, ...this.spec.args], {
      cwd: this.options.cwd,
      env: { ...this.options.env, ...this.spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: a terminal's Ctrl-C reaches the supervisor only, which then
      // stops the roles in order instead of all of them at once.
      detached: true,
    });
    this.child = child;
    this.starts++;
    child.stdout!.pipe(this.log, { end: false });
    child.stderr!.pipe(this.log, { end: false });
    this.options.onEvent?.({ name: this.name, event: 'started', detail: `pid ${child.pid}` });
    child.once('exit', (code, signal) => {
      if (this.pausedChild === child) this.pausedChild = undefined;
      if (this.stopping) return;
      this.options.onEvent?.({ name: this.name, event: 'exited', detail: signal ?? `code ${code}` });
      this.restartTimer = setTimeout(() => this.start(), this.options.restartDelayMs ?? 1000);
    });
  }

  /** Sends a signal to the running process (SIGKILL: a crash); the supervisor restarts it. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    // A paused process takes no signal but SIGKILL until SIGCONT (and its group's others none).
    await this.resume();
    await exited;
  }

  /**
   * SIGSTOP to its process group: a hung process (frozen VM, stalled disk, endless GC pause).
   * Its connections stay open and its locks held; nothing it does moves until `resume()`.
   */
  async pause(): Promise<void> {
    const child = this.child;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null || this.pausedChild) return;
    // Its own process group (detached): whatever it started stops with it.
    signalIfAlive(-child.pid, 'SIGSTOP');
    this.pausedChild = child;
  }

  /** SIGCONT: the process goes on where it stopped. */
  async resume(): Promise<void> {
    const child = this.pausedChild;
    this.pausedChild = undefined;
    if (child?.pid) signalIfAlive(-child.pid, 'SIGCONT');
  }

  get paused(): boolean {
    return this.pausedChild !== undefined;
  }

  /** Whether its readiness probe answers 200 now. */
  async isReady(): Promise<boolean> {
    const res = await fetch(this.spec.readyUrl, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
    return res?.status === 200;
  }

  async waitReady(timeoutMs = 120_000): Promise<void> {
    await waitFor(async () => (await this.isReady()) || undefined, {
      timeoutMs,
      intervalMs: 250,
      description: `${this.name} to be ready (${this.spec.readyUrl}; log ${path.join(this.options.logDir, `${this.name}.log`)})`,
    });
  }

  /** SIGTERM (the role drains), SIGKILL after `graceMs`; not restarted. */
  async stop(graceMs = 20_000): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      // A paused process would hold the signal until SIGCONT.
      await this.resume();
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    await new Promise<void>((resolve) => this.log.end(() => resolve()));
  }
}
