import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { call, followEvents, query, type OrderSummary } from './api';
import { Badge, ErrorNote, Time, money } from './ui';

/**
 * Orders: the read model, newest first, in keyset pages, with filters; changes arrive as
 * Server-Sent Events (the projector's NOTIFY), so a new or moved order shows without reload.
 */

interface Filters {
  status: string;
  sagaPhase: string;
  customerId: string;
  createdAfter: string;
  returnStatus: string;
}
const EMPTY: Filters = { status: '', sagaPhase: '', customerId: '', createdAfter: '', returnStatus: '' };
const PAGE = 25;
const STATUSES = ['PENDING', 'AWAITING_APPROVAL', 'CONFIRMED', 'CANCELLED'];
const PHASES = ['RUNNING', 'COMPENSATING', 'COMPENSATED', 'COMPLETED'];
const RETURN_STATUSES = [
  'OPENED',
  'PICKUP_SCHEDULED',
  'GOODS_RECEIVED',
  'REFUNDED',
  'RESTOCKED',
  'COMPLETED',
  'CANCELLED',
];

/** Whether a changed order belongs in the list as filtered (the same rules as the API's listing). */
function matches(o: OrderSummary, f: Filters): boolean {
  return (
    (!f.status || o.status === f.status) &&
    (!f.sagaPhase || o.sagaPhase === f.sagaPhase) &&
    (!f.customerId || o.customerId === f.customerId) &&
    (!f.createdAfter || o.createdAt > new Date(f.createdAfter).toISOString()) &&
    (!f.returnStatus || o.returnStatus === f.returnStatus)
  );
}

const newestFirst = (a: OrderSummary, b: OrderSummary) =>
  b.createdAt.localeCompare(a.createdAt) || b.orderId.localeCompare(a.orderId);

export function OrdersPage() {
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [draft, setDraft] = useState<Filters>(EMPTY);
  // Cursors of the pages before this one (the first page has none).
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors.at(-1);
  const [orders, setOrders] = useState<OrderSummary[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const [live, setLive] = useState(false);
  const [loaded, setLoaded] = useState(false);
  const state = useRef({ filters, firstPage: cursor === undefined });
  state.current = { filters, firstPage: cursor === undefined };

  // Only the newest request's answer is shown: a reload of the page just left (a timer, or a
  // slower answer) must not overwrite the page now asked for.
  const latest = useRef(0);
  const load = useCallback(async () => {
    const request = ++latest.current;
    try {
      const createdAfter = filters.createdAfter ? new Date(filters.createdAfter).toISOString() : undefined;
      const page = await call<{ orders: OrderSummary[]; nextCursor: string | null }>(
        'GET',
        `/orders${query({ ...filters, createdAfter, cursor, limit: PAGE })}`,
      );
      if (request !== latest.current) return;
      setOrders(page.orders);
      setNext(page.nextCursor);
      setError(undefined);
      setLoaded(true);
    } catch (err) {
      if (request === latest.current) setError(err);
    }
  }, [filters, cursor]);

  const reloadTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => {
    clearTimeout(reloadTimer.current);
    void load();
  }, [load]);
  const scheduleReload = () => {
    clearTimeout(reloadTimer.current);
    reloadTimer.current = setTimeout(() => void load(), 300);
  };
  useEffect(() => () => clearTimeout(reloadTimer.current), []);

  // Live changes: a changed order replaces its row; a new one that matches goes on top of the
  // first page. Each (re)connection reloads the page, so nothing missed meanwhile stays missing.
  useEffect(
    () =>
      followEvents('/orders/live', {
        onOpen: () => {
          setLive(true);
          void load();
        },
        onEvent: (type, data) => {
          if (type !== 'order') return;
          const changed = JSON.parse(data) as OrderSummary;
          const { filters: f, firstPage } = state.current;
          setOrders((list) => {
            const at = list.findIndex((o) => o.orderId === changed.orderId);
            if (at >= 0) {
              if (!matches(changed, f)) return list.filter((o) => o.orderId !== changed.orderId);
              const copy = [...list];
              copy[at] = changed;
              return copy;
            }
            if (!firstPage || !matches(changed, f)) return list;
            // The page's cursor is the API's to make: a page that overflows is fetched again.
            if (list.length >= PAGE) scheduleReload();
            const grown = [...list, changed].sort(newestFirst);
            return grown.slice(0, PAGE);
          });
        },
      }),
    [load],
  );

  const apply = (e: Event) => {
    e.preventDefault();
    setFilters(draft);
    setCursors([undefined]);
  };
  const field = (name: keyof Filters) => ({
    name,
    value: draft[name],
    onInput: (e: Event) => setDraft({ ...draft, [name]: (e.target as HTMLInputElement).value }),
  });

  return (
    <div>
      <h1>
        Orders <span class={`live ${live ? 'on' : ''}`}>{live ? 'live' : 'connecting…'}</span>
      </h1>
      <form class="filters" onSubmit={apply} aria-label="Filter orders">
        <label>
          Status
          <select {...field('status')}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option value={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Saga phase
          <select {...field('sagaPhase')}>
            <option value="">any</option>
            {PHASES.map((s) => (
              <option value={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Customer
          <input {...field('customerId')} placeholder="customer id" />
        </label>
        <label>
          Created after
          <input type="datetime-local" {...field('createdAfter')} />
        </label>
        <label>
          Return
          <select {...field('returnStatus')}>
            <option value="">any</option>
            {RETURN_STATUSES.map((s) => (
              <option value={s}>{s}</option>
            ))}
          </select>
        </label>
        <button type="submit" class="primary">
          Apply
        </button>
        <button type="button" onClick={() => (setDraft(EMPTY), setFilters(EMPTY), setCursors([undefined]))}>
          Clear
        </button>
      </form>
      <ErrorNote error={error} />
      <table class="list" aria-label="Orders">
        <thead>
          <tr>
            <th>Order</th>
            <th>Customer</th>
            <th>Status</th>
            <th>Saga phase</th>
            <th>Total</th>
            <th>Return</th>
            <th>Created</th>
            <th>Last event</th>
          </tr>
        </thead>
        <tbody>
          {orders.map((o) => (
            <tr key={o.orderId} data-order-id={o.orderId}>
              <td>
                <a href={`#/orders/${o.orderId}`} class="mono">
                  {o.orderId.slice(0, 8)}
                </a>
              </td>
              <td>{o.customerId}</td>
              <td>
                <Badge value={o.status} />
              </td>
              <td>
                <Badge value={o.sagaPhase} />
              </td>
              <td class="num">{money((o as { totalCents?: number | null }).totalCents)}</td>
              <td>
                <Badge value={o.returnStatus ?? null} />
              </td>
              <td>
                <Time at={o.createdAt} />
              </td>
              <td>{o.timeline.at(-1)?.type}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {loaded && orders.length === 0 ? <p class="muted">No orders match.</p> : null}
      <nav class="pager" aria-label="Pages">
        <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          ← Newer
        </button>
        <span class="muted">Page {cursors.length}</span>
        <button type="button" disabled={!next} onClick={() => next && setCursors([...cursors, next])}>
          Older →
        </button>
      </nav>
    </div>
  );
}
