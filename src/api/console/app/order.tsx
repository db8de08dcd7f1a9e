import { useEffect, useState } from 'preact/hooks';
import type { Story } from './api';
import { ActionButton, Badge, ErrorNote, Json, OperatorActionsTable, Section, Time, money, useResource } from './ui';

/**
 * One order's whole story from `GET /orders/:id/story`: the saga's steps (from its table) with
 * what became of each, its compensations, the timeline of its events and its return's, the
 * notifications sent, dead letters on its streams, the correlation chain, and what operators
 * did. Reloaded every two seconds while a saga runs, so the live state shows.
 */

type SagaView = Story['saga'];

/** The operator actions that apply to a saga's live state. */
export function SagaActions(props: { kind: 'order' | 'return'; id: string; saga: SagaView; onDone: () => void }) {
  const status = props.saga.status as { sagaPhase?: string; stuckStep?: { step: string } | null } | null;
  const base = `/${props.kind}s/${props.id}`;
  if (status?.sagaPhase === 'STEP_STUCK' && status.stuckStep) {
    const step = status.stuckStep.step;
    return (
      <div class="actions">
        <ActionButton
          label="Retry step"
          title={`Retry ${step} (after fixing its cause)`}
          url={`${base}/steps/${step}/retry`}
          onDone={props.onDone}
        />
        <ActionButton
          label="Abandon step"
          title={`Abandon ${step}: the saga compensates`}
          url={`${base}/steps/${step}/abandon`}
          danger
          onDone={props.onDone}
        />
      </div>
    );
  }
  if (status?.sagaPhase === 'COMPENSATION_STUCK') {
    return (
      <div class="actions">
        <ActionButton
          label="Retry compensation"
          title="Retry the compensation (after fixing its cause)"
          url={`${base}/compensation/retry`}
          onDone={props.onDone}
        />
        <ActionButton
          label="Mark resolved"
          title="Mark the compensation undone by hand"
          url={`${base}/compensation/resolve`}
          danger
          onDone={props.onDone}
        />
      </div>
    );
  }
  if ((props.saga.status as { status?: string } | null)?.status === 'AWAITING_APPROVAL') {
    return (
      <div class="actions">
        <ActionButton
          label="Approve"
          title="Approve the order"
          url={`${base}/approve`}
          reasonRequired={false}
          onDone={props.onDone}
        />
        <ActionButton
          label="Reject"
          title="Reject the order: it is compensated"
          url={`${base}/reject`}
          danger
          onDone={props.onDone}
        />
      </div>
    );
  }
  return null;
}

function Steps({ saga }: { saga: SagaView }) {
  const status = saga.status as { compensations?: { step: string; status: string }[] } | null;
  return (
    <>
      <table class="list steps" aria-label="Saga steps">
        <thead>
          <tr>
            <th>#</th>
            <th>Step</th>
            <th>State</th>
            <th>Undo</th>
            <th>On deadline</th>
            <th>Detail</th>
          </tr>
        </thead>
        <tbody>
          {saga.steps.map((s, i) => (
            <tr key={s.name} data-step={s.name} data-state={s.state}>
              <td class="num">{i + 1}</td>
              <td>
                <span class="mono">{s.name}</span>
                {s.condition ? <div class="muted small">{s.condition}</div> : null}
              </td>
              <td>
                <Badge value={s.state} />
              </td>
              <td class="mono">{s.compensation ?? '—'}</td>
              <td>{s.onDeadline}</td>
              <td class="error-text">{s.error ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {status?.compensations?.length ? (
        <div>
          <h3>Compensations, in the order they ran</h3>
          <ol class="compensations" aria-label="Compensations">
            {status.compensations.map((c) => (
              <li>
                undo <span class="mono">{c.step}</span> — <Badge value={c.status} />
              </li>
            ))}
          </ol>
        </div>
      ) : null}
    </>
  );
}

function SagaPanel(props: { title: string; kind: 'order' | 'return'; id: string; saga: SagaView; onDone: () => void }) {
  const status = props.saga.status as {
    sagaPhase?: string;
    status?: string;
    failure?: { reason: string; failedStep: string | null } | null;
  } | null;
  return (
    <Section title={props.title}>
      <p class="row">
        <span>
          Phase <Badge value={status?.sagaPhase ?? null} />
        </span>
        <span>
          Status <Badge value={status?.status ?? null} />
        </span>
        {props.saga.finished ? <span class="muted">finished</span> : <span class="live on">running</span>}
        {props.saga.temporalUrl ? (
          <a href={props.saga.temporalUrl} target="_blank" rel="noopener" class="temporal-link">
            Open {props.saga.workflowId} in the Temporal UI ↗
          </a>
        ) : (
          <span class="mono">{props.saga.workflowId}</span>
        )}
      </p>
      {status?.failure ? (
        <p>
          Stopped: <strong>{status.failure.reason}</strong>
          {status.failure.failedStep ? (
            <>
              {' '}
              at <span class="mono">{status.failure.failedStep}</span>
            </>
          ) : null}
        </p>
      ) : null}
      {!props.saga.status ? <p class="muted">The workflow cannot be asked for its state (past retention?).</p> : null}
      <SagaActions kind={props.kind} id={props.id} saga={props.saga} onDone={props.onDone} />
      <Steps saga={props.saga} />
    </Section>
  );
}

export function OrderPage({ orderId }: { orderId: string }) {
  const [running, setRunning] = useState(true);
  // The live saga state: reloaded while a saga of the order runs.
  const { data: s, error, reload } = useResource<Story>(`/orders/${orderId}/story`, running ? 2000 : undefined);
  useEffect(() => {
    if (s) setRunning(!s.saga.finished || s.returns.some((r) => !r.finished));
  }, [s]);
  if (!s) {
    return (
      <div>
        <h1>Order {orderId}</h1>
        {error ? <ErrorNote error={error} /> : <p class="muted">Loading…</p>}
      </div>
    );
  }
  const summary = s.summary as (Record<string, unknown> & { totalCents?: number | null }) | null;
  return (
    <div>
      <h1>
        Order <span class="mono">{orderId}</span>
      </h1>
      <ErrorNote error={error} />
      <dl class="facts">
        <dt>Customer</dt>
        <dd>{summary?.customerId as string}</dd>
        <dt>Status</dt>
        <dd>
          <Badge value={(summary?.status as string) ?? null} />
        </dd>
        <dt>Total</dt>
        <dd>{money(summary?.totalCents)}</dd>
        <dt>Created</dt>
        <dd>
          <Time at={summary?.createdAt as string} />
        </dd>
        <dt>Correlation</dt>
        <dd class="mono">{s.correlationId ?? '—'}</dd>
      </dl>

      <SagaPanel title="Order saga" kind="order" id={orderId} saga={s.saga} onDone={() => void reload()} />
      {s.returns.map((r) => (
        <SagaPanel
          title={`Return ${r.returnId.slice(0, 8)}`}
          kind="return"
          id={r.returnId}
          saga={r}
          onDone={() => void reload()}
        />
      ))}

      <Section title="Timeline" count={s.events.length}>
        <ol class="timeline" aria-label="Timeline">
          {s.events.map((e) => (
            <li key={e.eventId} data-event-type={e.eventType}>
              <Time at={e.occurredAt} /> <strong class="mono">{e.eventType}</strong>{' '}
              <span class="muted small">
                {e.streamId} v{e.version} · #{e.position}
              </span>
              <details>
                <summary>payload</summary>
                <Json value={e.payload} />
              </details>
            </li>
          ))}
        </ol>
      </Section>

      {s.operatorActions && (
        <Section title="Operator actions" count={s.operatorActions.length}>
          {s.operatorActions.length === 0 ? (
            <p class="muted">None.</p>
          ) : (
            <OperatorActionsTable label="Operator actions" actions={s.operatorActions} />
          )}
        </Section>
      )}

      <Section title="Notifications sent" count={s.notifications.length}>
        {s.notifications.length === 0 ? (
          <p class="muted">None.</p>
        ) : (
          <ul aria-label="Notifications">
            {s.notifications.map((n) => (
              <li key={n.id}>
                <Time at={n.createdAt} /> <Badge value={n.kind} /> {n.message}
              </li>
            ))}
          </ul>
        )}
      </Section>

      {s.deadLetters && (
        <Section title="Dead letters on its streams" count={s.deadLetters.length}>
          {s.deadLetters.length === 0 ? (
            <p class="muted">None.</p>
          ) : (
            <ul aria-label="Dead letters">
              {s.deadLetters.map((d) => (
                <li key={d.id}>
                  <a href={`#/dead-letters/${d.id}`}>#{d.id}</a> {d.consumer} · <span class="mono">{d.eventType}</span>{' '}
                  <Badge value={d.status} /> <span class="muted small">{d.error.split('\n')[0]}</span>
                </li>
              ))}
            </ul>
          )}
        </Section>
      )}

      <Section title="Correlation chain" count={s.correlation.length}>
        <ol class="chain" aria-label="Correlation chain">
          {s.correlation.map((m) => (
            <li key={m.id}>
              {m.kind === 'command' ? (
                <>
                  command <span class="mono">{m.id}</span>
                </>
              ) : (
                <>
                  event <span class="mono">{(m as { eventType?: string }).eventType}</span>
                </>
              )}{' '}
              <span class="muted small">caused by {m.causationId ?? '—'}</span>
            </li>
          ))}
        </ol>
      </Section>
    </div>
  );
}
