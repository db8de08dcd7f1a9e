import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiProblem, apiKey, call, onReachability, type Identity } from './api';
import { AttentionPage } from './attention';
import { DeadLettersPage } from './dead-letters';
import { DeliveryPage } from './delivery';
import { OrderPage } from './order';
import { OrdersPage } from './orders';
import { messageOf } from './ui';

/**
 * The operations console: a hash-routed single page. The key the operator enters is kept in
 * this browser only and sent with every request; what the key may do is the API's decision,
 * and the console says plainly what the API refused.
 */

function useRoute(): string {
  const [hash, setHash] = useState(location.hash || '#/orders');
  useEffect(() => {
    const changed = () => setHash(location.hash || '#/orders');
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return hash.slice(1);
}

function Page({ route }: { route: string }) {
  const [, section, id] = route.split('/');
  if (section === 'orders' && id) return <OrderPage key={id} orderId={decodeURIComponent(id)} />;
  if (section === 'attention') return <AttentionPage />;
  if (section === 'dead-letters') return <DeadLettersPage id={id ? Number(id) : undefined} />;
  if (section === 'delivery') return <DeliveryPage />;
  return <OrdersPage />;
}

/** Who the key is, or why the API will not say. */
function KeyBar({ onChange }: { onChange: () => void }) {
  const [identity, setIdentity] = useState<Identity | undefined>(undefined);
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const [draft, setDraft] = useState(apiKey.get());
  const check = async () => {
    try {
      setIdentity(await call<Identity>('GET', '/identity'));
      setProblem(undefined);
    } catch (err) {
      setIdentity(undefined);
      setProblem(
        err instanceof ApiProblem && err.status === 401
          ? 'No valid API key: the console cannot read anything. Enter a key.'
          : messageOf(err),
      );
    }
  };
  useEffect(() => void check(), []);
  const save = (e: Event) => {
    e.preventDefault();
    apiKey.set(draft.trim());
    void check();
    onChange();
  };
  return (
    <form class="keybar" onSubmit={save} aria-label="Who is acting">
      <label>
        API key
        <input
          type="password"
          name="api-key"
          value={draft}
          autocomplete="off"
          onInput={(e) => setDraft((e.target as HTMLInputElement).value)}
        />
      </label>
      <button type="submit">Use key</button>
      <span class="identity" data-testid="identity">
        {identity
          ? identity.open
            ? 'Open API (no keys configured): acting as anonymous'
            : `Signed in as ${identity.name} (${identity.role})${identity.role === 'operator' ? '' : ': orders only, operator pages and actions will be refused'}`
          : (problem ?? '')}
      </span>
    </form>
  );
}

function Banner() {
  const [down, setDown] = useState<string | undefined>(undefined);
  useEffect(() => onReachability((s) => setDown(s.reachable ? undefined : (s.error ?? 'no answer'))), []);
  if (!down) return null;
  return (
    <div class="banner" role="alert" data-testid="api-down">
      The API is not reachable ({down}). What you see may be stale; the console retries by itself.
    </div>
  );
}

function App() {
  const route = useRoute();
  const [generation, setGeneration] = useState(0);
  const nav = [
    ['#/orders', 'Orders'],
    ['#/attention', 'Needs attention'],
    ['#/dead-letters', 'Dead letters'],
    ['#/delivery', 'Delivery'],
  ] as const;
  return (
    <>
      <header>
        <strong class="brand">Saga orchestrator</strong>
        <nav aria-label="Pages">
          {nav.map(([href, label]) => (
            <a href={href} class={`#${route}`.startsWith(href) ? 'current' : ''}>
              {label}
            </a>
          ))}
        </nav>
        <KeyBar onChange={() => setGeneration(generation + 1)} />
      </header>
      <Banner />
      <main key={generation}>
        <Page route={route} />
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
