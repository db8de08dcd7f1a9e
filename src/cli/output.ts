/**
 * What the operator commands print for the API's answers (pure: unit-tested). The shapes are
 * the API's JSON as the CLI reads it; fields it does not need may be absent.
 */

export interface DeadLetterView {
  id: number;
  consumer: string;
  eventId: string;
  streamId: string;
  globalPosition?: number;
  eventType: string;
  schemaVersion?: number;
  status: string;
  reason: string;
  error: string;
  attempts?: number;
  firstFailedAt?: string;
  lastFailedAt?: string;
  resolvedAt?: string | null;
}

export interface DeadLetterDetailView extends DeadLetterView {
  stack?: string | null;
  event?: unknown;
  actions?: { action: string; actor: string; outcome: string; detail: string | null; actedAt: string }[];
}

export interface ActionAnswer {
  deadLetter: DeadLetterView;
  outcome: 'applied' | 'duplicate' | 'failed' | 'discarded';
  error?: string;
  released: { id: number; outcome: string; error?: string }[];
}

export interface BulkAnswer {
  dryRun: boolean;
  matched: number;
  parkedBehind: number;
  counts: { applied: number; duplicate: number; failed: number; discarded: number; skipped: number; released: number };
  results: { id: number; eventType?: string; streamId?: string; outcome: string; error?: string }[];
}

export interface SagaView {
  status?: string;
  sagaPhase: string;
  step?: string | null;
  stuck?: unknown[];
  stuckStep?: unknown;
  failure?: { reason: string; failedStep: string | null } | null;
}

/** What a command prints and whether it failed (exit code 1). */
export interface Printed {
  text: string;
  failed: boolean;
}

const firstLine = (s: string | undefined) => (s ?? '').split('\n')[0]!;
const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** One line of `saga dlq list`: id, status, consumer, event type, stream, reason, first line of the error. */
export const formatDeadLetterRow = (d: DeadLetterView): string =>
  [d.id, d.status, d.consumer, d.eventType, d.streamId, d.reason, firstLine(d.error)].join('\t');

export function formatDeadLetterList(letters: DeadLetterView[]): string {
  if (letters.length === 0) return 'No dead letters.\n';
  return letters.map((d) => `${formatDeadLetterRow(d)}\n`).join('');
}

/** `saga dlq show`: the dead letter, its error and stack, every action taken, the event as delivered. */
export function formatDeadLetter(d: DeadLetterDetailView): string {
  const lines = [
    `Dead letter ${d.id} (${d.status})`,
    `  consumer   ${d.consumer}`,
    `  event      ${d.eventType}${d.schemaVersion !== undefined ? ` v${d.schemaVersion}` : ''} ${d.eventId}`,
    `  stream     ${d.streamId}${d.globalPosition !== undefined ? ` (position ${d.globalPosition})` : ''}`,
    `  reason     ${d.reason}`,
    ...(d.attempts !== undefined ? [`  attempts   ${d.attempts}`] : []),
    ...(d.firstFailedAt ? [`  failed     ${d.firstFailedAt}${d.lastFailedAt ? ` … ${d.lastFailedAt}` : ''}`] : []),
    ...(d.resolvedAt ? [`  resolved   ${d.resolvedAt}`] : []),
    `  error      ${d.error.split('\n').join('\n             ')}`,
  ];
  if (d.stack) lines.push('Stack:', ...d.stack.split('\n').map((l) => `  ${l}`));
  if (d.actions?.length) {
    lines.push('Actions:');
    for (const a of d.actions) {
      lines.push(`  ${a.actedAt}  ${a.action} by ${a.actor}: ${a.outcome}${a.detail ? ` — ${a.detail}` : ''}`);
    }
  }
  if (d.event !== undefined) {
    lines.push(
      'Event:',
      ...JSON.stringify(d.event, null, 2)
        .split('\n')
        .map((l) => `  ${l}`),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** A single replay or discard: the outcome, then each parked event released behind it. Fails when any failed. */
export function formatAction(result: ActionAnswer): Printed {
  const d = result.deadLetter;
  const text =
    `Dead letter ${d.id} (${d.consumer}, ${d.eventType} ${d.eventId}): ${result.outcome}` +
    `${result.error ? ` — ${result.error}` : ''}\n` +
    result.released.map((r) => `  released parked ${r.id}: ${r.outcome}${r.error ? ` — ${r.error}` : ''}\n`).join('');
  return { text, failed: result.outcome === 'failed' || result.released.some((r) => r.outcome === 'failed') };
}

/** A bulk replay or discard (or its dry run). Fails when any dead letter or released event failed. */
export function formatBulk(action: 'replay' | 'discard', r: BulkAnswer): Printed {
  const lines: string[] = [];
  const describe = (x: BulkAnswer['results'][number]) =>
    [x.id, x.eventType, x.streamId].filter((v) => v !== undefined && v !== '').join(' ');
  if (r.dryRun) {
    for (const x of r.results) lines.push(`  ${describe(x)}`);
    lines.push(
      r.matched === 0
        ? 'Dry run: no open dead letters match.'
        : `Dry run: ${plural(r.matched, 'dead letter matches', 'dead letters match')} ` +
            `(${plural(r.parkedBehind, 'parked event', 'parked events')} behind ${r.matched === 1 ? 'it' : 'them'}). ` +
            `Run again without --dry-run to ${action} ${r.matched === 1 ? 'it' : 'them'}.`,
    );
    return { text: `${lines.join('\n')}\n`, failed: false };
  }
  const c = r.counts;
  if (r.matched === 0) return { text: `No open dead letters match: nothing to ${action}.\n`, failed: false };
  const released = `${plural(c.released, 'parked event', 'parked events')} released`;
  lines.push(
    action === 'replay'
      ? `Replayed ${r.matched}: ${c.applied} applied, ${c.duplicate} duplicate, ${c.failed} failed, ${c.skipped} skipped; ${released}`
      : `Discarded ${r.matched}: ${c.discarded} discarded, ${c.failed} failed, ${c.skipped} skipped; ${released}`,
  );
  for (const x of r.results.filter((x) => x.outcome === 'failed')) {
    lines.push(`  ${describe(x)}: failed${x.error ? ` — ${firstLine(x.error)}` : ''}`);
  }
  return { text: `${lines.join('\n')}\n`, failed: c.failed > 0 };
}

const stuckLine = (s: unknown): string | undefined => {
  if (!s || typeof s !== 'object') return undefined;
  const { step, error } = s as { step?: unknown; error?: unknown };
  return typeof step === 'string' ? `${step}${typeof error === 'string' ? `: ${firstLine(error)}` : ''}` : undefined;
};

/** An operator action on a saga: "Order <id>: retry of capturePayment sent; saga phase now RUNNING". */
export function formatSagaAction(kind: 'order' | 'return', id: string, what: string, saga: SagaView): string {
  const lines = [`${kind === 'order' ? 'Order' : 'Return'} ${id}: ${what}; saga phase now ${saga.sagaPhase}`];
  const step = stuckLine(saga.stuckStep);
  if (step) lines.push(`  still parked on a step past its deadline: ${step}`);
  for (const s of saga.stuck ?? []) {
    const line = stuckLine(s);
    if (line) lines.push(`  compensation waiting for an operator: ${line}`);
  }
  if (saga.failure) {
    lines.push(`  failure: ${saga.failure.reason}${saga.failure.failedStep ? ` (${saga.failure.failedStep})` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}
