import { useState } from 'preact/hooks';
import { call, query, type BulkResult, type DeadLetter, type DeadLetterDetail } from './api';
import { ActionButton, Badge, ErrorNote, Json, Section, Time, messageOf, useResource } from './ui';

/**
 * Dead letters: a filtered list, one dead letter's detail (event, error, attempts, the parked
 * events behind it, its action history) with replay and discard, and bulk replay or discard by
 * filter, always counted by a dry run first.
 */

const REASONS = ['handler_failed', 'malformed', 'unknown_type', 'unknown_version', 'invalid_payload', 'parked'];
const STATUSES = ['unresolved', 'open', 'parked', 'replayed', 'discarded', 'all'];

interface Filter {
  consumer: string;
  eventType: string;
  reason: string;
  status: string;
}

export function DeadLettersPage({ id }: { id?: number }) {
  const [filter, setFilter] = useState<Filter>({ consumer: '', eventType: '', reason: '', status: 'unresolved' });
  const list = useResource<{ deadLetters: DeadLetter[] }>(`/dead-letters${query({ ...filter, limit: 200 })}`, 5000);
  const set = (name: keyof Filter) => ({
    name,
    value: filter[name],
    onInput: (e: Event) => setFilter({ ...filter, [name]: (e.target as HTMLInputElement).value }),
  });
  const letters = list.data?.deadLetters ?? [];
  return (
    <div>
      <h1>Dead letters</h1>
      <form class="filters" aria-label="Filter dead letters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Consumer
          <input {...set('consumer')} placeholder="e.g. notifier" />
        </label>
        <label>
          Event type
          <input {...set('eventType')} placeholder="e.g. order.confirmed" />
        </label>
        <label>
          Reason
          <select {...set('reason')}>
            <option value="">any</option>
            {REASONS.map((r) => (
              <option value={r}>{r}</option>
            ))}
          </select>
        </label>
        <label>
          Status
          <select {...set('status')}>
            {STATUSES.map((r) => (
              <option value={r}>{r}</option>
            ))}
          </select>
        </label>
      </form>
      <ErrorNote error={list.error} />
      <BulkPanel filter={filter} onDone={() => void list.reload()} />
      <div class={id ? 'split' : ''}>
        <table class="list" aria-label="Dead letters">
          <thead>
            <tr>
              <th>#</th>
              <th>Consumer</th>
              <th>Event</th>
              <th>Status</th>
              <th>Reason</th>
              <th>Attempts</th>
              <th>Failed</th>
            </tr>
          </thead>
          <tbody>
            {letters.map((d) => (
              <tr key={d.id} class={d.id === id ? 'selected' : ''} data-dead-letter-id={d.id}>
                <td>
                  <a href={`#/dead-letters/${d.id}`}>{d.id}</a>
                </td>
                <td>{d.consumer}</td>
                <td class="mono small">
                  {d.eventType}
                  <div class="muted">{d.streamId}</div>
                </td>
                <td>
                  <Badge value={d.status} />
                </td>
                <td>{d.reason}</td>
                <td class="num">{d.attempts}</td>
                <td>
                  <Time at={d.firstFailedAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {id ? <DeadLetterDetailPanel id={id} onDone={() => void list.reload()} /> : null}
      </div>
      {list.data && letters.length === 0 ? <p class="muted">No dead letters match.</p> : null}
    </div>
  );
}

function DeadLetterDetailPanel({ id, onDone }: { id: number; onDone: () => void }) {
  const detail = useResource<DeadLetterDetail>(`/dead-letters/${id}`);
  const d = detail.data;
  const parked = useResource<{ deadLetters: DeadLetter[] }>(
    d ? `/dead-letters${query({ consumer: d.consumer, streamId: d.streamId, status: 'parked' })}` : null,
  );
  const [outcome, setOutcome] = useState<string | undefined>(undefined);
  const done = (result: unknown) => {
    const r = result as { outcome: string; error?: string; released: { id: number; outcome: string }[] };
    setOutcome(
      `${r.outcome}${r.error ? ` — ${r.error}` : ''}` +
        (r.released.length ? `; released ${r.released.map((x) => `#${x.id} ${x.outcome}`).join(', ')}` : ''),
    );
    void detail.reload();
    void parked.reload();
    onDone();
  };
  if (!d) return <aside class="detail">{detail.error ? <ErrorNote error={detail.error} /> : 'Loading…'}</aside>;
  const unresolved = d.status === 'open' || d.status === 'parked';
  return (
    <aside class="detail" aria-label={`Dead letter ${d.id}`}>
      <h2>
        Dead letter #{d.id} <Badge value={d.status} />
      </h2>
      <dl class="facts">
        <dt>Consumer</dt>
        <dd>{d.consumer}</dd>
        <dt>Event</dt>
        <dd class="mono">
          {d.eventType} v{d.schemaVersion} · {d.eventId}
        </dd>
        <dt>Stream</dt>
        <dd class="mono">{d.streamId}</dd>
        <dt>Reason</dt>
        <dd>{d.reason}</dd>
        <dt>Attempts</dt>
        <dd>{d.attempts}</dd>
        <dt>Failed</dt>
        <dd>
          <Time at={d.firstFailedAt} /> … <Time at={d.lastFailedAt} />
        </dd>
      </dl>
      <p class="error-text">{d.error}</p>
      {unresolved ? (
        <div class="actions">
          <ActionButton
            label="Replay"
            title={`Replay dead letter #${d.id}`}
            url={`/dead-letters/${d.id}/replay`}
            reasonRequired={false}
            onDone={done}
          />
          <ActionButton
            label="Discard"
            title={`Discard dead letter #${d.id} (it will never take effect)`}
            url={`/dead-letters/${d.id}/discard`}
            reasonField="note"
            danger
            onDone={done}
          />
        </div>
      ) : null}
      {outcome ? <p class="notice">Outcome: {outcome}</p> : null}
      <Section title="Parked behind it" count={parked.data?.deadLetters.length ?? 0}>
        <ul>
          {(parked.data?.deadLetters ?? []).map((p) => (
            <li key={p.id}>
              <a href={`#/dead-letters/${p.id}`}>#{p.id}</a> <span class="mono">{p.eventType}</span> at #
              {p.globalPosition}
            </li>
          ))}
        </ul>
      </Section>
      <Section title="Action history" count={d.actions.length}>
        <ul aria-label="Action history">
          {d.actions.map((a) => (
            <li>
              <Time at={a.actedAt} /> {a.actor}: {a.action} → <Badge value={a.outcome} /> {a.detail ?? ''}
            </li>
          ))}
        </ul>
      </Section>
      <details>
        <summary>Event as delivered</summary>
        <Json value={d.event} />
      </details>
      {d.stack ? (
        <details>
          <summary>Stack</summary>
          <pre class="json">{d.stack}</pre>
        </details>
      ) : null}
    </aside>
  );
}

/** Bulk replay or discard of what a filter matches: a dry run counts first, then the operator confirms. */
function BulkPanel({ filter, onDone }: { filter: Filter; onDone: () => void }) {
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [note, setNote] = useState('');
  const [dry, setDry] = useState<{ action: 'replay' | 'discard'; result: BulkResult } | undefined>(undefined);
  const [result, setResult] = useState<{ action: string; result: BulkResult } | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const body = (dryRun: boolean) => ({
    ...(filter.consumer ? { consumer: filter.consumer } : {}),
    ...(filter.eventType ? { eventType: filter.eventType } : {}),
    ...(filter.reason ? { reason: filter.reason } : {}),
    ...(from ? { from: new Date(from).toISOString() } : {}),
    ...(to ? { to: new Date(to).toISOString() } : {}),
    ...(note.trim() ? { note: note.trim() } : {}),
    dryRun,
  });
  const run = async (action: 'replay' | 'discard', dryRun: boolean) => {
    setBusy(true);
    setError(undefined);
    try {
      const r = await call<BulkResult>('POST', `/dead-letters/${action}`, body(dryRun));
      if (dryRun) {
        setDry({ action, result: r });
        setResult(undefined);
      } else {
        setDry(undefined);
        setResult({ action, result: r });
        onDone();
      }
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="bulk" aria-label="Bulk actions">
      <h2>Bulk: the open dead letters matching the filter above</h2>
      <div class="filters">
        <label>
          Failed from
          <input type="datetime-local" value={from} onInput={(e) => setFrom((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Failed before
          <input type="datetime-local" value={to} onInput={(e) => setTo((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Note
          <input
            value={note}
            placeholder="why (recorded)"
            onInput={(e) => setNote((e.target as HTMLInputElement).value)}
          />
        </label>
        <button type="button" disabled={busy} onClick={() => void run('replay', true)}>
          Replay matching…
        </button>
        <button type="button" class="danger" disabled={busy} onClick={() => void run('discard', true)}>
          Discard matching…
        </button>
      </div>
      {dry ? (
        <div class="notice" role="status">
          <p>
            Dry run: <strong data-testid="dry-run-count">{dry.result.matched}</strong> dead letters match (
            {dry.result.parkedBehind} parked events behind them).
          </p>
          {dry.result.matched > 0 ? (
            <button
              type="button"
              class={dry.action === 'discard' ? 'danger' : 'primary'}
              disabled={busy}
              onClick={() => void run(dry.action, false)}
            >
              {dry.action === 'replay' ? `Replay ${dry.result.matched}` : `Discard ${dry.result.matched}`}
            </button>
          ) : null}
          <button type="button" onClick={() => setDry(undefined)}>
            Cancel
          </button>
        </div>
      ) : null}
      {result ? (
        <p class="notice" role="status" data-testid="bulk-result">
          {result.action === 'replay' ? 'Replayed' : 'Discarded'} {result.result.matched}:{' '}
          {result.result.counts.applied} applied, {result.result.counts.duplicate} duplicate,{' '}
          {result.result.counts.failed} failed, {result.result.counts.discarded} discarded,{' '}
          {result.result.counts.skipped} skipped; {result.result.counts.released} parked events released.
        </p>
      ) : null}
      {error ? (
        <p class="error" role="alert">
          {messageOf(error)}
        </p>
      ) : null}
    </section>
  );
}
