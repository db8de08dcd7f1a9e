import type { Client } from '@temporalio/client';
import { quantile } from './harness';

/**
 * Where a workflow's time goes, from its history's event timestamps (the server's clock, the
 * same machine's as the bench's): how long workflow tasks and activity tasks waited in their
 * task queues (scheduled → started: polling and matching) and how long they ran (started →
 * completed: the worker's workflow code, our activity code). Plus what the caller saw
 * around it: the request before the workflow started, and the hop after its last activity
 * until the caller saw the outcome (the read model for a saga, the result for a bare workflow).
 */

type History = Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];

/** What the caller recorded for one workflow (epoch ms, `Date.now()`). */
export interface CallerTimes {
  workflowId: string;
  /** The request left (POST /orders, or the client's start). */
  requested: number;
  /** The caller saw the outcome (the read model's row, or the workflow's result). */
  settled: number;
  /** When the read model wrote the outcome (`order_summary.updated_at`); sagas only. */
  readModelAt?: number;
}

/** Per-workflow sums in ms; each segment of the path from request to outcome. */
export interface Segments {
  /** Request sent → WorkflowExecutionStarted (HTTP, the API, the start RPC). */
  toStart: number;
  /** Workflow tasks: scheduled → started (waiting for a poller, sticky or not). */
  workflowTaskWait: number;
  /** Workflow tasks: started → completed (the worker runs the workflow code). */
  workflowTaskRun: number;
  /** Activities: scheduled → started (waiting for a poller; ~0 when dispatched eagerly). */
  activityWait: number;
  /** Activities: started → completed (the activity's own code: our transactions). */
  activityRun: number;
  /** Workflow started → last activity completed, minus the four above (gaps between tasks). */
  between: number;
  /** Last activity completed → the caller saw the outcome (read-model hop, or last task + result). */
  afterLastActivity: number;
  /** Part of `afterLastActivity`: last activity completed → read model wrote the outcome (sagas). */
  readModel?: number;
  /** Request sent → outcome seen. */
  total: number;
  /** Workflow tasks and activities in the history. */
  workflowTasks: number;
  activities: number;
}

const ms = (e: HistoryEvent): number => {
  const t = e.eventTime!;
  return Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6;
};
const id = (n: unknown): string => String(n);

/** The segments of one workflow: its history and what the caller recorded. */
export function segmentsOf(events: HistoryEvent[], caller: CallerTimes): Segments {
  const at = new Map<string, number>(); // eventId → time
  let started = Number.NaN;
  let lastActivityDone = Number.NaN;
  let workflowTaskWait = 0;
  let workflowTaskRun = 0;
  let activityWait = 0;
  let activityRun = 0;
  let workflowTasks = 0;
  let activities = 0;
  for (const e of events) {
    const t = ms(e);
    at.set(id(e.eventId), t);
    if (e.workflowExecutionStartedEventAttributes) started = t;
    const wfStarted = e.workflowTaskStartedEventAttributes;
    if (wfStarted) workflowTaskWait += t - at.get(id(wfStarted.scheduledEventId))!;
    const wfDone = e.workflowTaskCompletedEventAttributes ?? e.workflowTaskFailedEventAttributes;
    if (wfDone) {
      workflowTaskRun += t - at.get(id(wfDone.startedEventId))!;
      workflowTasks++;
    }
    const actStarted = e.activityTaskStartedEventAttributes;
    if (actStarted) activityWait += t - at.get(id(actStarted.scheduledEventId))!;
    const actDone =
      e.activityTaskCompletedEventAttributes ??
      e.activityTaskFailedEventAttributes ??
      e.activityTaskTimedOutEventAttributes;
    if (actDone) {
      activityRun += t - at.get(id(actDone.startedEventId))!;
      activities++;
      lastActivityDone = t;
    }
  }
  // Tasks after the last activity (the final workflow task) belong to the hop after it.
  const tail = events.filter((e) => ms(e) > lastActivityDone);
  let tailTaskWait = 0;
  let tailTaskRun = 0;
  for (const e of tail) {
    const wfStarted = e.workflowTaskStartedEventAttributes;
    if (wfStarted) tailTaskWait += ms(e) - Math.max(lastActivityDone, at.get(id(wfStarted.scheduledEventId))!);
    const wfDone = e.workflowTaskCompletedEventAttributes;
    if (wfDone) tailTaskRun += ms(e) - at.get(id(wfDone.startedEventId))!;
  }
  workflowTaskWait -= tailTaskWait;
  workflowTaskRun -= tailTaskRun;
  const inWorkflow = lastActivityDone - started;
  return {
    toStart: started - caller.requested,
    workflowTaskWait,
    workflowTaskRun,
    activityWait,
    activityRun,
    between: inWorkflow - workflowTaskWait - workflowTaskRun - activityWait - activityRun,
    afterLastActivity: caller.settled - lastActivityDone,
    ...(caller.readModelAt !== undefined ? { readModel: caller.readModelAt - lastActivityDone } : {}),
    total: caller.settled - caller.requested,
    workflowTasks,
    activities,
  };
}

/** Fetches the histories of `callers`' workflows (a few at a time) and computes their segments. */
export async function timelines(client: Client, callers: CallerTimes[]): Promise<Segments[]> {
  const out: Segments[] = [];
  for (let i = 0; i < callers.length; i += 4) {
    const batch = callers.slice(i, i + 4);
    const histories = await Promise.all(batch.map((c) => client.workflow.getHandle(c.workflowId).fetchHistory()));
    histories.forEach((h, j) => out.push(segmentsOf(h.events ?? [], batch[j]!)));
  }
  return out;
}

/** The segment names in path order, as the report labels them. */
export const SEGMENT_LABELS: [keyof Segments, string][] = [
  ['toStart', 'request → workflow started'],
  ['workflowTaskWait', 'workflow tasks waiting (scheduled → started)'],
  ['workflowTaskRun', 'workflow tasks running (started → completed)'],
  ['activityWait', 'activities waiting (scheduled → started)'],
  ['activityRun', 'activities running (started → completed)'],
  ['between', 'between tasks'],
  ['readModel', 'last activity → read model updated'],
  ['afterLastActivity', 'last activity → caller saw the outcome'],
  ['total', 'total (request → outcome seen)'],
];

/** The p50 of each segment over `samples` (segments absent from every sample are left out). */
export function medianSegments(samples: Segments[]): { key: keyof Segments; label: string; p50: number }[] {
  return SEGMENT_LABELS.flatMap(([key, label]) => {
    const values = samples.map((s) => s[key]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    return values.length ? [{ key, label, p50: quantile(values, 0.5) }] : [];
  });
}

type Medians = ReturnType<typeof medianSegments>;

/**
 * The segments where the saga spends the most time beyond the bare workflow, largest first,
 * in words: what a missed latency or throughput target is made of, measured in the same run.
 */
export function widestGaps(saga: Medians, bare: Medians, count = 3): string {
  const bareOf = new Map(bare.map((s) => [s.key, s.p50]));
  const fmt = (n: number) => n.toFixed(n >= 10 ? 0 : 1);
  const gaps = saga
    .filter((s) => s.key !== 'total' && s.key !== 'afterLastActivity')
    .map((s) => ({ ...s, gap: s.p50 - (bareOf.get(s.key) ?? 0) }))
    .filter((s) => s.gap > 0)
    .sort((a, b) => b.gap - a.gap)
    .slice(0, count);
  if (gaps.length === 0) return 'no segment of the saga takes longer than the bare workflow’s';
  return gaps
    .map((g) => `${g.label} ${fmt(g.p50)} ms against ${bareOf.has(g.key) ? `${fmt(bareOf.get(g.key)!)} ms` : 'none'}`)
    .join('; ');
}
