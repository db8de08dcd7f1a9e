import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiProblem, ApiUnreachable, call, type OperatorAction } from './api';

/** Small building blocks shared by the pages. */

export const money = (cents: number | null | undefined) =>
  cents === null || cents === undefined ? '—' : `${(cents / 100).toFixed(2)}`;

export function Time({ at }: { at: string | null | undefined }) {
  if (!at) return <span class="muted">—</span>;
  const d = new Date(at);
  return (
    <time dateTime={at} title={at}>
      {d.toLocaleString()}
    </time>
  );
}

const TONE: Record<string, string> = {
  CONFIRMED: 'good',
  COMPLETED: 'good',
  done: 'good',
  applied: 'good',
  replayed: 'good',
  CANCELLED: 'bad',
  COMPENSATED: 'warn',
  compensated: 'warn',
  resolved_by_hand: 'warn',
  failed: 'bad',
  refused: 'bad',
  open: 'bad',
  STEP_STUCK: 'bad',
  COMPENSATION_STUCK: 'bad',
  stuck: 'bad',
  compensation_stuck: 'bad',
  step_stuck: 'bad',
  parked: 'warn',
  AWAITING_APPROVAL: 'warn',
  approval: 'warn',
  COMPENSATING: 'warn',
  running: 'info',
  RUNNING: 'info',
  PENDING: 'info',
};

export function Badge({ value }: { value: string | null | undefined }) {
  if (!value) return <span class="muted">—</span>;
  return <span class={`badge ${TONE[value] ?? ''}`}>{value.replaceAll('_', ' ')}</span>;
}

/** What a failed request shows: the API's own words. */
export function messageOf(err: unknown): string {
  if (err instanceof ApiProblem || err instanceof ApiUnreachable) return err.message;
  return (err as Error)?.message ?? String(err);
}

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {messageOf(error)}
    </p>
  );
}

/**
 * Loads `url` now, whenever `deps` change, and every `refreshMs` (pages whose state moves on
 * by itself: a running saga, delivery figures). Keeps the last good data while a reload fails.
 */
export function useResource<T>(url: string | null, refreshMs?: number) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(false);
  const current = useRef(url);
  current.current = url;
  const load = useCallback(async () => {
    if (!url) return;
    setLoading(true);
    try {
      const value = await call<T>('GET', url);
      if (current.current === url) {
        setData(value);
        setError(undefined);
      }
    } catch (err) {
      if (current.current === url) setError(err);
    } finally {
      setLoading(false);
    }
  }, [url]);
  useEffect(() => {
    setData(undefined);
    void load();
  }, [load]);
  useEffect(() => {
    if (!refreshMs) return;
    const timer = setInterval(() => void load(), refreshMs);
    return () => clearInterval(timer);
  }, [load, refreshMs]);
  return { data, error, loading, reload: load, setData };
}

/**
 * An operator action: a button that asks why (recorded with who acted), calls the API and
 * shows what it answered — including a 403 for a key that may not act, or a 409 saying why the
 * action does not apply now.
 */
export function ActionButton(props: {
  label: string;
  title: string;
  url: string;
  /** Body fields besides the reason. */
  body?: Record<string, unknown>;
  /** The body field the reason goes in. Default `reason`. */
  reasonField?: string;
  reasonRequired?: boolean;
  danger?: boolean;
  onDone?: (result: unknown) => void;
}) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const required = props.reasonRequired ?? true;
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const field = props.reasonField ?? 'reason';
      const body = { ...props.body, ...(reason.trim() ? { [field]: reason.trim() } : {}) };
      const result = await call('POST', props.url, body);
      setOpen(false);
      setReason('');
      props.onDone?.(result);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  if (!open) {
    return (
      <button type="button" class={props.danger ? 'danger' : ''} onClick={() => setOpen(true)}>
        {props.label}
      </button>
    );
  }
  return (
    <form class="action-form" onSubmit={submit} aria-label={props.title}>
      <strong>{props.title}</strong>
      <label>
        Reason{required ? '' : ' (optional)'}
        <input
          name="reason"
          value={reason}
          required={required}
          maxLength={500}
          placeholder="Why (recorded with your name)"
          onInput={(e) => setReason((e.target as HTMLInputElement).value)}
        />
      </label>
      <div class="row">
        <button type="submit" class={props.danger ? 'danger' : 'primary'} disabled={busy}>
          {busy ? 'Working…' : `Confirm: ${props.label.toLowerCase()}`}
        </button>
        <button type="button" onClick={() => (setOpen(false), setError(undefined))} disabled={busy}>
          Cancel
        </button>
      </div>
      <ErrorNote error={error} />
    </form>
  );
}

export function Section(props: { title: string; children: ComponentChildren; count?: number }) {
  return (
    <section>
      <h2>
        {props.title}
        {props.count !== undefined ? <span class="count">{props.count}</span> : null}
      </h2>
      {props.children}
    </section>
  );
}

export function Json({ value }: { value: unknown }) {
  return <pre class="json">{JSON.stringify(value, null, 2)}</pre>;
}

/** The audit log's rows: who acted, when, on what, why, and how it went (refusals with the API's words). */
export function OperatorActionsTable(props: { label: string; actions: OperatorAction[]; showTarget?: boolean }) {
  return (
    <table class="list" aria-label={props.label}>
      <thead>
        <tr>
          <th>When</th>
          <th>Who</th>
          <th>Action</th>
          {props.showTarget ? <th>On</th> : null}
          <th>Reason</th>
          <th>Outcome</th>
        </tr>
      </thead>
      <tbody>
        {props.actions.map((a) => (
          <tr key={a.id}>
            <td>
              <Time at={a.actedAt} />
            </td>
            <td>
              {a.actor} <span class="muted small">({a.role})</span>
            </td>
            <td class="mono">{a.action}</td>
            {props.showTarget ? (
              <td class="mono small">
                {a.targetType === 'order' ? (
                  <a href={`#/orders/${a.targetId}`}>order {a.targetId.slice(0, 8)}</a>
                ) : (
                  `${a.targetType} ${a.targetId}`
                )}
              </td>
            ) : null}
            <td>{a.reason ?? ''}</td>
            <td>
              <Badge value={a.outcome} />
              {a.outcome !== 'applied' ? (
                <span class="muted small"> {(a.detail as { detail?: string } | null)?.detail}</span>
              ) : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
