import { readFileSync } from 'node:fs';

/**
 * What the machine's CPUs did during a measurement (Linux /proc/stat; zeros elsewhere) and
 * what this process used: enough to say whether a rate was bound by CPU (node and PostgreSQL
 * share the cores) or by waiting (commit latency: the WAL flush).
 */

interface Ticks {
  busy: number;
  iowait: number;
  total: number;
}

function machineTicks(): Ticks | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const [, ...fields] = line.trim().split(/\s+/);
    const n = fields.map(Number);
    // user nice system idle iowait irq softirq steal
    const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = n[3] ?? 0;
    const iowait = n[4] ?? 0;
    return { busy: total - idle - iowait, iowait, total };
  } catch {
    return undefined;
  }
}

export interface CpuSample {
  /** Share of all cores busy (0..1). */
  machineBusy: number;
  /** Share of all cores waiting on I/O (0..1). */
  machineIowait: number;
  /** This process's CPU time over wall time, in cores (1 = one core fully). */
  processCores: number;
}

/** Starts a sample; the returned function ends it. */
export function sampleCpu(): () => CpuSample {
  const m0 = machineTicks();
  const p0 = process.cpuUsage();
  const t0 = performance.now();
  return () => {
    const m1 = machineTicks();
    const p = process.cpuUsage(p0);
    const wallMs = Math.max(performance.now() - t0, 1e-6);
    const dTotal = m0 && m1 ? m1.total - m0.total : 0;
    return {
      machineBusy: dTotal > 0 ? (m1!.busy - m0!.busy) / dTotal : 0,
      machineIowait: dTotal > 0 ? (m1!.iowait - m0!.iowait) / dTotal : 0,
      processCores: (p.user + p.system) / 1000 / wallMs,
    };
  };
}

/** Merges samples weighted by their durations. */
export function mergeCpu(samples: readonly { cpu: CpuSample; ms: number }[]): CpuSample {
  const total = samples.reduce((s, x) => s + x.ms, 0);
  if (total <= 0) return { machineBusy: 0, machineIowait: 0, processCores: 0 };
  const avg = (pick: (c: CpuSample) => number) => samples.reduce((s, x) => s + pick(x.cpu) * x.ms, 0) / total;
  return {
    machineBusy: avg((c) => c.machineBusy),
    machineIowait: avg((c) => c.machineIowait),
    processCores: avg((c) => c.processCores),
  };
}

/**
 * "machine CPU 97 % busy, 1 % iowait; node 0.90 cores → CPU-bound …": a rule of thumb, stated
 * as such. `waiting` says what the scenario waits on when the CPUs are not saturated.
 */
export function describeBound(cpu: CpuSample, waiting = 'commit latency (WAL flush) and round trips'): string {
  const pct = (x: number) => `${Math.round(x * 100)} %`;
  const figures = `machine CPU ${pct(cpu.machineBusy)} busy, ${pct(cpu.machineIowait)} iowait; node ${cpu.processCores.toFixed(2)} cores`;
  if (cpu.machineBusy === 0 && cpu.machineIowait === 0) return `${figures} (no /proc/stat: bound unknown)`;
  // Node runs the bench's JavaScript on one thread: near one core, the event loop is the limit.
  const nodeFull = cpu.processCores >= 0.85;
  const node = nodeFull ? '; node near one full core (its one JS thread)' : '';
  if (cpu.machineBusy >= 0.9) return `${figures} → CPU-bound (node and PostgreSQL share the cores${node})`;
  if (cpu.machineBusy >= 0.7) {
    return `${figures} → close to CPU-bound (the cores nearly saturated${node}); otherwise waiting on ${waiting}`;
  }
  if (nodeFull) return `${figures} → bound by the bench process's one JS thread (near one full core)`;
  return `${figures} → CPU not saturated: bound by ${waiting}`;
}
