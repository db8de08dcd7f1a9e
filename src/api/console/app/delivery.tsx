import type { Delivery } from './api';
import { Badge, ErrorNote, Section, useResource } from './ui';

/** Delivery: the transport, the relay, consumers' instances and lag per partition, read-model lag. */

const seconds = (s: number) => (s < 1 ? '0 s' : s < 120 ? `${s.toFixed(1)} s` : `${(s / 60).toFixed(1)} min`);

/** Which open transaction holds events back, as far as the API's database role can see. */
function holder(by: Delivery['heldBack']['by']): string {
  if (!by) return 'an open transaction on the PostgreSQL server';
  const where = by.database ? ` in database ${by.database}` : '';
  const age = by.transactionAgeSeconds === null ? '' : `, open ${seconds(by.transactionAgeSeconds)}`;
  if (by.preparedTransaction !== null) return `prepared transaction ${by.preparedTransaction}${where}${age}`;
  const app = by.applicationName ? ` (${by.applicationName})` : '';
  return `the transaction of process ${by.pid}${app}${where}${age}`;
}

export function DeliveryPage() {
  const { data, error } = useResource<Delivery>('/delivery', 2000);
  return (
    <div>
      <h1>Delivery</h1>
      <ErrorNote error={error} />
      {data ? (
        <>
          <dl class="facts" aria-label="Transport">
            <dt>Transport</dt>
            <dd>
              <strong>{data.transport}</strong>
              {data.transport === 'postgres' ? (
                <span class="muted"> (consumers read the events table; no relay)</span>
              ) : null}
            </dd>
            {data.relay ? (
              <>
                <dt>Relay</dt>
                <dd>
                  <Badge value={data.relay.active ? 'active' : 'none active'} />{' '}
                  <span data-testid="standbys">
                    {data.relay.standbys} standby{data.relay.standbys === 1 ? '' : 's'}
                  </span>
                </dd>
                <dt>Backlog</dt>
                <dd>
                  {data.relay.backlog} events, oldest {seconds(data.relay.oldestUndeliveredAgeSeconds)}
                </dd>
              </>
            ) : null}
            {data.heldBack.events > 0 ? (
              <>
                <dt>Held back</dt>
                <dd data-testid="held-back">
                  {data.heldBack.events} committed event{data.heldBack.events === 1 ? '' : 's'}, oldest{' '}
                  {seconds(data.heldBack.oldestAgeSeconds)}, held back from every reader by {holder(data.heldBack.by)}
                </dd>
              </>
            ) : null}
            {data.projections.map((p) => (
              <>
                <dt>Read model {p.name}</dt>
                <dd>lag {seconds(p.lagSeconds)}</dd>
              </>
            ))}
          </dl>
          <Section title="Consumers">
            <table class="list" aria-label="Consumers">
              <thead>
                <tr>
                  <th>Consumer</th>
                  <th>Instances</th>
                  <th>Partitions owned</th>
                  <th>Lag per partition</th>
                  <th>Dead letters</th>
                </tr>
              </thead>
              <tbody>
                {data.consumers.map((c) => (
                  <tr key={c.name} data-consumer={c.name}>
                    <td>{c.name}</td>
                    <td class="num">{c.instances}</td>
                    <td class="num">
                      {c.partitionsOwned} / {c.partitions}
                    </td>
                    <td>
                      {c.lag.length === 0
                        ? '—'
                        : c.lag.map((l) => (
                            <span class="lag">
                              p{l.partition}: {l.lagEvents}
                              {l.lagEvents ? ` (${seconds(l.oldestAgeSeconds)})` : ''}
                            </span>
                          ))}
                    </td>
                    <td>
                      {c.deadLetters.open + c.deadLetters.parked > 0 ? (
                        <a href="#/dead-letters">
                          {c.deadLetters.open} open, {c.deadLetters.parked} parked
                        </a>
                      ) : (
                        '0'
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Section>
        </>
      ) : null}
    </div>
  );
}
