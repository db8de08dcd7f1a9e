/**
 * Documentation generated from the event catalog (`saga catalog`): `docs/events.md` (the
 * catalog table, versions, compensating events, the saga flow as a Mermaid diagram and the
 * consistency strategy per step) and `docs/asyncapi.yaml` (AsyncAPI 3.0, a channel per event
 * type with the newest JSON Schema as payload). Pure and deterministic: no clocks, no I/O
 * besides reading package.json's version, so a test can compare it with the committed files.
 */
import type { ConsumerDefinition } from '../delivery/consumer';
import type { EventDefinition } from '../events/catalog';
import type { SagaDefinition } from '../saga/definition';
import { renderAsyncApi } from './asyncapi';
import { renderEventsMarkdown } from './events-markdown';
import { sagaFlow } from './saga-flows';
import { renderTopology } from './topology-docs';

export { channelId, payloadSchema, renderAsyncApi } from './asyncapi';
export { renderEventsMarkdown } from './events-markdown';
export { producerActivity } from './saga-flows';

/** Both generated files, with repo-relative paths. */
export function catalogDocs(): { path: string; content: string }[] {
  return [
    { path: 'docs/events.md', content: renderEventsMarkdown() },
    { path: 'docs/asyncapi.yaml', content: renderAsyncApi() },
  ];
}

/** What a team's generated docs cover: its plugins' events and sagas, and every consumer it runs. */
export interface DocsScope {
  definitions: readonly EventDefinition[];
  sagas: readonly SagaDefinition<never, never>[];
  consumers: readonly ConsumerDefinition[];
}

/** The event catalog and the broker topology of a scope, with paths relative to its project. */
export function scopeDocs(scope: DocsScope): { path: string; content: string }[] {
  const flows = scope.sagas.map(sagaFlow);
  return [
    { path: 'docs/events.md', content: renderEventsMarkdown(scope.definitions, flows) },
    { path: 'docs/asyncapi.yaml', content: renderAsyncApi(scope.definitions) },
    { path: 'docs/topology.md', content: renderTopology(scope.consumers) },
  ];
}
