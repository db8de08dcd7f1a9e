/**
 * Documentation generated from the event catalog (`saga catalog`): `docs/events.md` (the
 * catalog table, versions, compensating events, the saga flow as a Mermaid diagram and the
 * consistency strategy per step) and `docs/asyncapi.yaml` (AsyncAPI 3.0, a channel per event
 * type with the newest JSON Schema as payload). Pure and deterministic: no clocks, no I/O
 * besides reading package.json's version, so a test can compare it with the committed files.
 */
import { renderAsyncApi } from './asyncapi';
import { renderEventsMarkdown } from './events-markdown';

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
