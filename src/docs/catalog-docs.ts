import { stringify } from 'yaml';
import { z } from 'zod';
import { EVENT_DEFINITIONS, type EventDefinition } from '../events/catalog';
import { WIRE_HEADERS, wireEventSchema } from '../events/wire';
import { flowOf, type FlowStep, type SagaDefinition } from '../saga/definition';
import { SAGA_TABLES } from '../workflows/sagas';

/**
 * Documentation generated from the event catalog (`saga catalog`): `docs/events.md` (the
 * catalog table, versions, compensating events, the saga flow as a Mermaid diagram and the
 * consistency strategy per step) and `docs/asyncapi.yaml` (AsyncAPI 3.0, a channel per event
 * type with the newest JSON Schema as payload). Pure and deterministic: no clocks, no I/O
 * besides reading package.json's version, so a test can compare it with the committed files.
 */

// ---- the saga flow the catalog's producers belong to (src/workflows/order-saga.ts) --------

interface ActivityInfo {
  /** What the activity's transaction changes besides processed_commands and the events. */
  commits: string;
  /** A caveat about what commits (or does not). */
  note?: string;
  /** Calls to the outside world, made before the transaction (empty: none). */
  external: string;
}

/** A saga as the docs show it: its steps (from its table), its stop activity and when that runs. */
interface SagaFlow {
  name: string;
  steps: readonly FlowStep[];
  /** The activity that ends every stopped run, after the compensations. */
  final: string;
  finalWhen: string;
  /** Checklist items whose wait (an operator's decision, goods to arrive) can stop the saga. */
  waits: string[];
}

function sagaFlow(definition: SagaDefinition<never, never>): SagaFlow {
  return {
    name: definition.name,
    steps: flowOf(definition),
    final: definition.onStop.activity,
    finalWhen: definition.onStop.describe,
    waits: [...new Set(definition.steps.filter((s) => s.before).map((s) => s.checklist ?? s.name))],
  };
}

// Each saga's table is the one source of its steps (src/workflows/).
const SAGAS: readonly SagaFlow[] = SAGA_TABLES.map((d) => sagaFlow(d));

/** What each activity does, as implemented in src/activities/order-activities.ts. */
const ACTIVITIES: Readonly<Record<string, ActivityInfo>> = {
  createOrder: {
    commits: '`orders` row inserted (prices quoted from `products`)',
    external: '',
  },
  reserveInventory: {
    commits: '`products.stock` decremented per line (guarded by `stock >= quantity`), `reservations` rows `RESERVED`',
    note: 'Out of stock or an unknown SKU rolls all of it back.',
    external: '',
  },
  authorizePayment: {
    commits: '`payments` row `AUTHORIZED`',
    external: 'payment gateway `authorize` with idempotency key = command id (a repeat returns the same authorization)',
  },
  requestApproval: {
    commits: 'no domain table',
    note: 'No event when approval was already requested.',
    external: '',
  },
  approveOrder: {
    commits: 'no domain table',
    external: '',
  },
  scheduleShipment: {
    commits: '`shipments` row `SCHEDULED`',
    external: 'carrier `schedule` with idempotency key = command id (a repeat returns the same tracking id)',
  },
  capturePayment: {
    commits: '`payments.status` = `CAPTURED`',
    external: 'payment gateway `capture` of the authorization id (capturing a captured authorization is a no-op)',
  },
  confirmOrder: {
    commits: 'no domain table (the order status is the fold of its stream)',
    external: '',
  },
  releaseInventory: {
    commits: '`reservations` rows `RELEASED`, their quantities returned to `products.stock`',
    note: 'With nothing reserved, only the `processed_commands` row.',
    external: '',
  },
  voidPayment: {
    commits: '`payments.status` = `VOIDED`',
    note: 'With no authorized payment, only the `processed_commands` row.',
    external:
      "payment gateway `void` of the authorization id, only while the order's payment is `AUTHORIZED` (voiding twice is a no-op)",
  },
  cancelShipment: {
    commits: '`shipments.status` = `CANCELLED`',
    note: 'With no scheduled shipment, only the `processed_commands` row.',
    external:
      'carrier `cancel` of the tracking id, only while the shipment is `SCHEDULED` (cancelling twice is harmless)',
  },
  refundPayment: {
    commits: '`payments.status` = `REFUNDED`',
    note: 'With no captured payment, only the `processed_commands` row.',
    external:
      'payment gateway `refund` of the authorization id, only while the payment is `CAPTURED` (refunding twice is a no-op)',
  },
  openReturn: {
    commits: '`returns` row `OPENED` (one open or completed return per order, by a unique index)',
    note: 'Refused unless the order is confirmed, belongs to the customer and has no other return.',
    external: '',
  },
  schedulePickup: {
    commits: '`returns.status` = `PICKUP_SCHEDULED`',
    external: "carrier `schedule` at the order's shipping address with idempotency key = command id",
  },
  receiveGoods: {
    commits: '`returns.status` = `GOODS_RECEIVED`',
    external: '',
  },
  refundReturn: {
    commits: "`returns.status` = `REFUNDED` with the amount, the order's `payments.status` = `REFUNDED`",
    external: "payment gateway `refund` of the order's authorization (refunding twice is a no-op)",
  },
  restockReturn: {
    commits: '`products.stock` incremented per returned line, `returns.status` = `RESTOCKED`',
    external: '',
  },
  completeReturn: {
    commits: '`returns.status` = `COMPLETED`',
    external: '',
  },
  cancelPickup: {
    commits: '`returns.status` back to `OPENED`',
    note: 'With no scheduled pickup, only the `processed_commands` row; refused once the goods are received.',
    external: 'carrier `cancel` of the tracking id, only while the pickup is scheduled (cancelling twice is harmless)',
  },
  cancelReturn: {
    commits: '`returns.status` = `CANCELLED`',
    note: 'A return never opened gets `return.not_opened` instead of `return.cancelled` (no `returns` row). Nothing when the return is already over.',
    external: '',
  },
  cancelOrder: {
    commits: 'no domain table',
    note: 'Refused while stock, an authorization, a capture or a shipment is still held, unless an operator resolved that step by hand. An order never created gets `order.placement_failed` instead of `order.cancelled`.',
    external: '',
  },
};

/** What each consumer does with what it receives (falls back to the consumer's name). */
const CONSUMER_EFFECTS: Readonly<Record<string, string>> = {
  'order-summary': 'read model `order_summary`',
  notifier: 'customer notification',
};

/** `'orderSaga / reserveInventory'` → `'reserveInventory'`. */
export const producerActivity = (producer: string): string => producer.split('/').at(-1)!.trim();

// ---- small helpers --------------------------------------------------------------------------

const code = (s: string) => `\`${s}\``;
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
const row = (cells: string[]) => `| ${cells.map(cell).join(' | ')} |`;
const nodeId = (prefix: string, name: string) => `${prefix}_${name.replace(/[^A-Za-z0-9]/g, '_')}`;
const unique = <T>(items: T[]): T[] => [...new Set(items)];

function table(header: string[], rows: string[][]): string[] {
  return [row(header), row(header.map(() => '---')), ...rows.map(row)];
}

function eventsBy(definitions: readonly EventDefinition[], activity: string): EventDefinition[] {
  return definitions.filter((d) => producerActivity(d.producer) === activity);
}

function versionsCell(definition: EventDefinition): string {
  const n = definition.versions.length;
  return definition.versions.map((_, i) => (i === n - 1 ? `**v${i + 1}**` : `v${i + 1}`)).join(', ');
}

/** Every activity of the sagas' flows: forward steps, their undos (last first), the stop activity. */
function sagaActivities(saga: SagaFlow): string[] {
  return [
    ...saga.steps.flatMap((s) => s.activities),
    ...[...saga.steps].reverse().flatMap((s) => (s.undo ? [s.undo] : [])),
    saga.final,
  ];
}

/** Every activity that produces events in the order it appears in the sagas. */
function orderedActivities(definitions: readonly EventDefinition[]): string[] {
  const known = SAGAS.flatMap(sagaActivities);
  const producers = unique(definitions.map((d) => producerActivity(d.producer)));
  return [...known.filter((a) => producers.includes(a)), ...producers.filter((p) => !known.includes(p))];
}

// ---- docs/events.md -------------------------------------------------------------------------

function mermaidFlow(definitions: readonly EventDefinition[]): string[] {
  const lines: string[] = ['```mermaid', 'flowchart LR'];
  const eventNode = (d: EventDefinition) => `${nodeId('ev', d.type)}(["${d.type}"])`;
  const stepNode = (s: FlowStep) => `${nodeId('st', s.step)}["${s.step}${s.condition ? `<br/>(${s.condition})` : ''}"]`;

  for (const saga of SAGAS) {
    lines.push(`  %% forward steps of ${saga.name}`);
    lines.push(`  ${saga.steps.map(stepNode).join(' --> ')}`);

    lines.push('  %% the events each step appends (same transaction as its state change)');
    for (const s of saga.steps) {
      for (const d of s.activities.flatMap((a) => eventsBy(definitions, a))) {
        lines.push(`  ${nodeId('st', s.step)} --> ${eventNode(d)}`);
      }
    }

    lines.push(`  %% failure: completed steps are undone last-in-first-out, then ${saga.final} ends the run`);
    const finalNode = nodeId('st', saga.final);
    lines.push(`  ${finalNode}["${saga.final}<br/>(${saga.finalWhen})"]`);
    const compensationEvents: EventDefinition[] = [];
    for (const s of saga.steps) {
      if (!s.undo) continue;
      for (const d of eventsBy(definitions, s.undo)) {
        lines.push(`  ${nodeId('st', s.step)} -.->|"undo: ${s.undo}"| ${eventNode(d)}`);
        compensationEvents.push(d);
      }
    }
    if (compensationEvents.length) {
      lines.push(`  ${compensationEvents.map((d) => nodeId('ev', d.type)).join(' & ')} -.-> ${finalNode}`);
    }
    for (const wait of saga.waits) lines.push(`  ${nodeId('st', wait)} -.->|"stopped while waiting"| ${finalNode}`);
    for (const d of eventsBy(definitions, saga.final)) {
      lines.push(`  ${finalNode} --> ${eventNode(d)}`);
    }
  }

  const inFlow = new Set(SAGAS.flatMap(sagaActivities));
  const others = definitions.filter((d) => !inFlow.has(producerActivity(d.producer)));
  if (others.length) {
    lines.push('  %% producers outside the sagas');
    for (const d of others)
      lines.push(`  ${nodeId('pr', producerActivity(d.producer))}["${d.producer}"] --> ${eventNode(d)}`);
  }

  const consumers = unique(definitions.flatMap((d) => d.consumers)).sort();
  if (consumers.length) {
    lines.push('  %% consumers (eventual: relay → broker → consumer, at-least-once, inbox dedupe)');
    for (const consumer of consumers) {
      const handled = definitions.filter((d) => d.consumers.includes(consumer));
      lines.push(
        `  ${handled.map((d) => nodeId('ev', d.type)).join(' & ')} --> ${nodeId('co', consumer)}[/"${consumer}"/]`,
      );
    }
  }

  const compensating = definitions.filter((d) => d.compensation);
  lines.push('  classDef compensation fill:#fdecea,stroke:#c0392b,color:#000');
  lines.push('  classDef consumer fill:#eaf2fb,stroke:#2e86c1,color:#000');
  if (compensating.length)
    lines.push(`  class ${compensating.map((d) => nodeId('ev', d.type)).join(',')} compensation`);
  if (consumers.length) lines.push(`  class ${consumers.map((c) => nodeId('co', c)).join(',')} consumer`);
  lines.push('```');
  return lines;
}

function consistencyRows(definitions: readonly EventDefinition[]): string[][] {
  const stepOf = new Map<string, string>();
  for (const saga of SAGAS) {
    for (const s of saga.steps) {
      for (const a of s.activities) stepOf.set(a, s.step === a ? a : `${s.step}: ${a}`);
      if (s.undo) stepOf.set(s.undo, `${s.undo} (undoes ${s.step})`);
    }
    stepOf.set(saga.final, `${saga.final} (ends a stopped ${saga.name})`);
  }

  return orderedActivities(definitions).map((activity) => {
    const events = eventsBy(definitions, activity);
    const info = ACTIVITIES[activity];
    const strong =
      [
        info ? info.commits : "the producer's state change",
        '`processed_commands` row',
        ...events.map((d) => code(d.type)),
      ].join(' + ') + (info?.note ? `. ${info.note}` : '');
    const eventual = events
      .map((d) => {
        const targets = d.consumers.map((c) => (CONSUMER_EFFECTS[c] ? `${c} (${CONSUMER_EFFECTS[c]})` : c));
        return `${code(d.type)} → ${targets.length ? targets.join(', ') : 'no consumer yet'}`;
      })
      .join('; ');
    return [
      stepOf.get(activity) ?? activity,
      strong,
      eventual,
      info?.external
        ? `${info.external}; called before the transaction, only if the command is not processed yet`
        : 'none',
    ];
  });
}

/** `docs/events.md`: the human-readable event catalog. */
export function renderEventsMarkdown(definitions: readonly EventDefinition[] = EVENT_DEFINITIONS): string {
  const lines: string[] = [
    '<!-- Generated by `saga catalog` from src/events/catalog.ts and the saga tables. Do not edit. -->',
    '',
    '# Event catalog',
    '',
    "Every event is appended to its aggregate's stream (`order-<orderId>`, `return-<returnId>`) in the `events` table, which is the event store and the outbox at once. " +
      'Readers see it in an envelope with the fields `eventId`, `eventType`, `aggregateId`, `aggregateType`, `occurredAt`, ' +
      '`version` (stream version), `schemaVersion`, `correlationId`, `causationId` and `payload`. ' +
      'Writers validate the payload against the newest schema version; readers upcast older versions step by step, then validate. ' +
      'The payload JSON Schemas are in [`asyncapi.yaml`](asyncapi.yaml) (AsyncAPI 3.0).',
    '',
    '## Events',
    '',
    'Versions: the newest (in bold) is the one written today.',
    '',
    ...table(
      ['event', 'producer', 'consumers', 'description', 'versions'],
      definitions.map((d) => [code(d.type), d.producer, d.consumers.join(', ') || '—', d.description, versionsCell(d)]),
    ),
    '',
    '## Versions',
    '',
    ...table(
      ['event', 'version', 'note'],
      definitions.flatMap((d) =>
        d.versions.map((v, i) => [
          code(d.type),
          `v${i + 1}${i === d.versions.length - 1 ? ' (newest)' : ''}`,
          `${v.note}${v.upcastFrom ? ` Upcast from v${i}.` : ''}`,
        ]),
      ),
    ),
    '',
    '## Compensating events',
    '',
    'Appended only on a failure path, each by an idempotent compensation (with nothing to undo it appends nothing). ' +
      'Compensations run last-in-first-out; each saga ends a stopped run with its stop activity (`order.cancelled`, or `order.placement_failed` for an order never created; `return.cancelled`, or `return.not_opened` for a return never opened).',
    '',
    ...table(
      ['event', 'producer', 'undoes'],
      definitions
        .filter((d) => d.compensation)
        .map((d) => {
          const activity = producerActivity(d.producer);
          const saga = SAGAS.find((g) => sagaActivities(g).includes(activity));
          const step = saga?.steps.find((s) => s.undo === activity);
          const undone = step ? step.activities.flatMap((a) => eventsBy(definitions, a)).map((e) => code(e.type)) : [];
          return [
            code(d.type),
            d.producer,
            undone.length
              ? undone.join(', ')
              : activity === saga?.final
                ? `the whole ${saga.name.replace(/Saga$/, '')} (last event of a stopped ${saga.name})`
                : '—',
          ];
        }),
    ),
    '',
    '## Flow',
    '',
    'Solid arrows: the saga moving forward and the events each step appends. Dotted arrows: the failure path. ' +
      'Parallelograms: consumers.',
    '',
    ...mermaidFlow(definitions),
    '',
    '## Consistency',
    '',
    'Each saga step is one Temporal activity with a deterministic command id (`<workflowId>/<step>`) and one PostgreSQL transaction: ' +
      'it claims the command id in `processed_commands`, folds the aggregate stream, decides, applies the domain-table change and appends the event(s) ' +
      'at the expected stream version, then stores its result. That is **strong** consistency: the state change and its events commit together or not at all, ' +
      'and a retry after a crash returns the stored result without writing again.',
    '',
    'Everything downstream of the commit is **eventual**: the relay publishes committed events in order to RabbitMQ or NATS JetStream ' +
      '(without a broker, consumers read the `events` table directly) and consumers receive them at least once, deduplicating through their inbox ' +
      '(`inbox(consumer, event_id)`, written in the same transaction as their effects): the read model and notifications lag the commit.',
    '',
    'External side effects (payment gateway, carrier) cannot join the transaction: they are made before it, only when the command is not processed yet, ' +
      'and are idempotent (keyed by the command id, or by the authorization / tracking id they act on), so a crash between the call and the commit repeats the call harmlessly.',
    '',
    ...table(
      [
        'step',
        'commits atomically: one PostgreSQL transaction (strong)',
        'eventual: delivered at least once, inbox dedupe',
        'external side effects',
      ],
      consistencyRows(definitions),
    ),
    '',
  ];
  return lines.join('\n');
}

// ---- docs/asyncapi.yaml ---------------------------------------------------------------------

/** `'order.approval_requested'` → `'orderApprovalRequested'`. */
export function channelId(type: string): string {
  const [first = '', ...rest] = type.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return first.toLowerCase() + rest.map((w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase()).join('');
}

const title = (type: string): string => {
  const words = type
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .join(' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
};

/** The JSON Schema of a zod schema as an AsyncAPI payload (without the `$schema` dialect key). */
export function payloadSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema) as Record<string, unknown>;
  return rest;
}

function packageVersion(): string {
  // Read at render time (not imported) so the build's rootDir stays src/.
  return (require('../../package.json') as { version: string }).version;
}

/** `docs/asyncapi.yaml`: an AsyncAPI 3.0 document with a channel and a send operation per event type. */
export function renderAsyncApi(definitions: readonly EventDefinition[] = EVENT_DEFINITIONS): string {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  for (const d of definitions) {
    const id = channelId(d.type);
    channels[id] = {
      address: d.type,
      title: title(d.type),
      description: `${d.description} Produced by ${d.producer}; consumed by ${d.consumers.join(', ') || 'nobody yet'}.`,
      messages: {
        [id]: {
          name: d.type,
          title: title(d.type),
          summary: d.description,
          contentType: 'application/json',
          correlationId: { $ref: '#/components/correlationIds/correlationId' },
          headers: { $ref: '#/components/schemas/MessageHeaders' },
          payload: payloadSchema(
            wireEventSchema.extend({ eventType: z.literal(d.type), payload: d.versions.at(-1)!.schema }),
          ),
          tags: [{ name: d.aggregateType }, ...(d.compensation ? [{ name: 'compensation' }] : [])],
          'x-producer': d.producer,
          'x-consumers': [...d.consumers],
          'x-schema-versions': d.versions.map((v, i) => ({
            version: i + 1,
            note: v.note,
            ...(v.upcastFrom ? { upcastFrom: i } : {}),
            ...(i === d.versions.length - 1 ? { newest: true } : {}),
          })),
        },
      },
    };
    operations[`send${id.charAt(0).toUpperCase()}${id.slice(1)}`] = {
      action: 'send',
      title: `Publish ${d.type}`,
      summary: `The relay publishes ${d.type} after ${d.producer} committed it to the outbox.`,
      channel: { $ref: `#/channels/${id}` },
      messages: [{ $ref: `#/channels/${id}/messages/${id}` }],
    };
  }

  const document = {
    asyncapi: '3.0.0',
    info: {
      title: 'Saga orchestrator events',
      version: packageVersion(),
      description: [
        'Domain events of the saga orchestrator, generated by `saga catalog` from src/events/catalog.ts (do not edit).',
        'Each event is appended to the `events` table (event store and outbox) in the same transaction as the state change that caused it;',
        'the relay publishes committed events in order, at least once. Consumers deduplicate by eventId.',
        'A message body is the stored event as JSON; its `payload` is in the version `schemaVersion` names',
        '(the schema below is the newest; `x-schema-versions` lists every version, and consumers upcast).',
      ].join('\n'),
    },
    defaultContentType: 'application/json',
    servers: {
      rabbitmq: {
        host: 'localhost:5672',
        protocol: 'amqp',
        protocolVersion: '0.9.1',
        description:
          'RabbitMQ durable topic exchange `saga.events`: the routing key is the event type (the channel address), the AMQP message id is the eventId; persistent, published with confirms. One quorum queue per consumer partition (`saga.<consumer>.<partition>`, single active consumer), bound to the types the consumer handles.',
      },
      nats: {
        host: 'localhost:4222',
        protocol: 'nats',
        description:
          'NATS JetStream stream `SAGA_EVENTS` over `events.>`: the subject is `events.<type>` (the channel address prefixed with `events.`), the `Nats-Msg-Id` header is the eventId so a re-publish after a crash is deduplicated. One durable pull consumer per consumer partition (`saga-<consumer>-<partition>`), explicit ack.',
      },
    },
    channels,
    operations,
    components: {
      schemas: {
        MessageHeaders: {
          type: 'object',
          description: 'Headers on every message; they repeat body fields for routing and tracing tools.',
          properties: Object.fromEntries(
            Object.entries(WIRE_HEADERS).map(([name, description]) => [name, { type: 'string', description }]),
          ),
          required: ['saga-event-type', 'saga-schema-version', 'saga-stream-id', 'saga-stream-version'],
        },
      },
      correlationIds: {
        correlationId: {
          description: 'The correlation id of the request that started the chain.',
          location: '$message.header#/saga-correlation-id',
        },
      },
    },
  };
  return stringify(document, { lineWidth: 0, aliasDuplicateObjects: false });
}

/** Both generated files, with repo-relative paths. */
export function catalogDocs(): { path: string; content: string }[] {
  return [
    { path: 'docs/events.md', content: renderEventsMarkdown() },
    { path: 'docs/asyncapi.yaml', content: renderAsyncApi() },
  ];
}
