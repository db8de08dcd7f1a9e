import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CONSUMERS } from '../../src/consumers';
import { defineConsumer, topologyOf } from '../../src/delivery/consumer';
import { natsTopology } from '../../src/delivery/transports/nats-topology';
import { rabbitTopology } from '../../src/delivery/transports/rabbitmq-topology';
import { renderTopology, topologyDocs } from '../../src/docs/topology-docs';

// docs/topology.md follows the code: it is rendered from the declarations the transports
// assert, so a consumer added to the list shows up with its queues, durables and checkpoints.

const ROOT = path.resolve(__dirname, '../..');

const auditLog = defineConsumer({
  name: 'audit-log',
  handles: ['order.created', 'order.cancelled'],
  partitions: 3,
  handle: async () => undefined,
});

describe('docs/topology.md', () => {
  it('is the committed rendering (run `npm run saga -- catalog` when it is stale)', () => {
    for (const doc of topologyDocs()) expect(readFileSync(path.join(ROOT, doc.path), 'utf8')).toBe(doc.content);
  });

  it('names every exchange, queue and binding RabbitMQ declares, and every NATS durable', () => {
    const doc = renderTopology();
    const topology = CONSUMERS.map(topologyOf);
    const rabbit = rabbitTopology(topology);
    for (const name of [...rabbit.exchanges, ...rabbit.queues].map((d) => d.name)) expect(doc).toContain(`\`${name}\``);
    for (const b of rabbit.bindings.filter((b) => b.routingKey)) expect(doc).toContain(`\`${b.routingKey}\``);
    const nats = natsTopology(topology);
    expect(doc).toContain(`\`${nats.stream.name}\``);
    for (const d of nats.durables) expect(doc).toContain(`| \`${d.config.durable_name}\` |`);
  });

  it('shows a consumer added to the list with its queues, durables, checkpoints and locks per partition', () => {
    const before = renderTopology();
    const doc = renderTopology([...CONSUMERS, auditLog]);
    for (const p of [0, 1, 2]) {
      expect(before).not.toContain(`saga.audit-log.${p}`);
      expect(doc).toContain(`| \`saga.audit-log.${p}\` | audit-log ${p} |`);
      expect(doc).toContain(`| \`saga-audit-log-${p}\` | audit-log ${p} | \`events.>\` |`);
      expect(doc).toContain(`\`consumer:audit-log:${p}\``);
      expect(doc).toContain(`\`saga:consumer:audit-log:${p}\``);
    }
    expect(doc).not.toContain('saga.audit-log.3');
    // Three is no power of two: partition 1 is bound bucket by bucket (1, 4, 7, ...), per type.
    expect(doc).toContain('`1.0.0.0.0.0.order.created`, `1.0.0.0.0.0.order.cancelled`, `0.0.1.0.0.0.order.created`');
  });

  it('uses the names it is given (tests isolate runs with their own)', () => {
    const doc = renderTopology([auditLog], {
      rabbit: { exchange: 'test.events', queuePrefix: 'test' },
      nats: { stream: 'TEST', prefix: 'tst' },
    });
    expect(doc).toContain('| `test.events` | topic | true | `test.events.unrouted` |');
    expect(doc).toContain('`test.audit-log.0`');
    expect(doc).toContain('| `TEST` | `tst.>` |');
    expect(doc).not.toContain('saga.events');
  });

  it('is deterministic', () => {
    expect(renderTopology()).toBe(renderTopology());
  });
});
