import type { AttentionItem, OperatorAction } from './api';
import { ActionButton, Badge, ErrorNote, OperatorActionsTable, Section, Time, money, useResource } from './ui';

/**
 * Needs attention: sagas parked on a step past its deadline or on a compensation that keeps
 * failing, and orders waiting for approval, each with the actions that apply; below, the
 * latest operator actions (who, what, why, outcome).
 */

const ACTIONS: Record<
  AttentionItem['actions'][number],
  { label: string; path: (item: AttentionItem) => string; danger?: boolean; optional?: boolean }
> = {
  retry_step: { label: 'Retry step', path: (i) => `steps/${i.problems[0]?.step}/retry` },
  abandon_step: { label: 'Abandon step', path: (i) => `steps/${i.problems[0]?.step}/abandon`, danger: true },
  retry_compensation: { label: 'Retry compensation', path: () => 'compensation/retry' },
  resolve_compensation: { label: 'Mark resolved', path: () => 'compensation/resolve', danger: true },
  approve: { label: 'Approve', path: () => 'approve', optional: true },
  reject: { label: 'Reject', path: () => 'reject', danger: true },
};

const WHAT: Record<AttentionItem['kind'], string> = {
  step_stuck: 'A step passed its deadline',
  compensation_stuck: 'A compensation keeps failing',
  approval: 'Waiting for approval',
};

export function AttentionPage() {
  const items = useResource<{ items: AttentionItem[] }>('/attention', 3000);
  const actions = useResource<{ actions: OperatorAction[] }>('/operator-actions?limit=20', 3000);
  const reload = () => {
    void items.reload();
    void actions.reload();
  };
  const list = items.data?.items ?? [];
  return (
    <div>
      <h1>Needs attention</h1>
      <ErrorNote error={items.error} />
      {items.data && list.length === 0 ? <p class="muted">Nothing needs an operator.</p> : null}
      <ul class="cards" aria-label="Needs attention">
        {list.map((item) => {
          const orderLink = item.saga === 'order' ? `#/orders/${item.id}` : undefined;
          return (
            <li class="card" key={item.workflowId} data-workflow-id={item.workflowId} data-kind={item.kind}>
              <div class="row">
                <Badge value={item.kind} />
                <strong>{WHAT[item.kind]}</strong>
                <span>
                  {item.saga}{' '}
                  {orderLink ? (
                    <a href={orderLink} class="mono">
                      {item.id}
                    </a>
                  ) : (
                    <span class="mono">{item.id}</span>
                  )}
                </span>
                <span class="muted small">
                  started <Time at={item.startedAt} />
                </span>
                {item.totalCents !== null ? <span>total {money(item.totalCents)}</span> : null}
              </div>
              {item.problems.map((p) => (
                <p class="problem">
                  <span class="mono">{p.step}</span> (escalation #{p.attempt}):{' '}
                  <span class="error-text">{p.error}</span>
                </p>
              ))}
              <div class="actions">
                {item.actions.map((a) => {
                  const spec = ACTIONS[a];
                  return (
                    <ActionButton
                      key={a}
                      label={spec.label}
                      title={`${spec.label}: ${item.saga} ${item.id}`}
                      url={`/${item.saga}s/${item.id}/${spec.path(item)}`}
                      danger={spec.danger}
                      reasonRequired={!spec.optional}
                      onDone={reload}
                    />
                  );
                })}
              </div>
            </li>
          );
        })}
      </ul>

      <Section title="Latest operator actions">
        <ErrorNote error={actions.error} />
        <OperatorActionsTable label="Latest operator actions" actions={actions.data?.actions ?? []} showTarget />
      </Section>
    </div>
  );
}
