import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { ORDER_STEPS } from '../../src/workflows/order-saga';
import { wireEventSchema } from '../../src/events/wire';
import { EVENT_DEFINITIONS } from '../../src/events/catalog';
import { catalogDocs, channelId, renderAsyncApi, renderEventsMarkdown } from '../../src/docs/catalog-docs';

/**
 * The committed docs are generated from the catalog: a stale file fails here. The AsyncAPI
 * document is also checked against the AsyncAPI 3.0 schema by the published parser.
 */

const ROOT = path.resolve(__dirname, '../..');
const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');

interface AsyncApiMessage {
  name: string;
  payload: Record<string, unknown>;
  'x-schema-versions': { version: number }[];
}
interface AsyncApiDocument {
  asyncapi: string;
  channels: Record<string, { address: string; messages: Record<string, AsyncApiMessage> }>;
  operations: Record<string, { action: string; channel: { $ref: string }; messages: { $ref: string }[] }>;
}

const newestJsonSchema = (schema: z.ZodType): Record<string, unknown> => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema) as Record<string, unknown>;
  return rest;
};

describe('generated catalog docs', () => {
  it.each(catalogDocs().map((d) => [d.path, d.content] as const))('%s is up to date', (file, content) => {
    const committed = read(file);
    if (committed !== content) throw new Error(`${file} is stale: run \`npm run saga -- catalog\``);
  });

  it('is deterministic', () => {
    expect(renderEventsMarkdown()).toBe(renderEventsMarkdown());
    expect(renderAsyncApi()).toBe(renderAsyncApi());
  });
});

describe('docs/asyncapi.yaml', () => {
  const text = read('docs/asyncapi.yaml');
  const doc = parse(text) as AsyncApiDocument;

  it('validates against the AsyncAPI 3.0 schema (@asyncapi/parser)', async () => {
    const { Parser } = await import('@asyncapi/parser');
    const { document, diagnostics } = await new Parser().parse(text);
    const errors = diagnostics.filter((d) => d.severity === 0);
    if (errors.length) {
      throw new Error(
        `AsyncAPI errors:\n${errors.map((e) => `${e.path.join('.')}: ${e.message} (${e.code})`).join('\n')}`,
      );
    }
    expect(document).toBeDefined();
    expect(document!.version()).toBe('3.0.0');
    expect(document!.channels().length).toBe(EVENT_DEFINITIONS.length);
  }, 30_000);

  it('has exactly one channel and one send operation per event type', () => {
    expect(doc.asyncapi).toBe('3.0.0');
    expect(
      Object.values(doc.channels)
        .map((c) => c.address)
        .sort(),
    ).toEqual(EVENT_DEFINITIONS.map((d) => d.type).sort());
    expect(Object.keys(doc.channels)).toHaveLength(EVENT_DEFINITIONS.length);
    const operations = Object.values(doc.operations);
    expect(operations).toHaveLength(EVENT_DEFINITIONS.length);
    for (const d of EVENT_DEFINITIONS) {
      const id = channelId(d.type);
      const forChannel = operations.filter((o) => o.channel.$ref === `#/channels/${id}`);
      expect(forChannel).toHaveLength(1);
      expect(forChannel[0]).toMatchObject({ action: 'send', messages: [{ $ref: `#/channels/${id}/messages/${id}` }] });
    }
  });

  it.each(EVENT_DEFINITIONS.map((d) => [d.type, d] as const))('%s: payload is the newest JSON Schema', (type, d) => {
    const channel = doc.channels[channelId(type)]!;
    expect(channel.address).toBe(type);
    const messages = Object.values(channel.messages);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.name).toBe(type);
    // The body is the stored event; its `payload` is the newest version's JSON Schema.
    const body = messages[0]!.payload as {
      properties: Record<string, Record<string, unknown>>;
      required: string[];
    };
    expect(body.properties.payload).toEqual(newestJsonSchema(d.versions.at(-1)!.schema));
    expect(body.properties.eventType).toMatchObject({ const: type });
    expect([...body.required].sort()).toEqual(Object.keys(wireEventSchema.shape).sort());
    expect(messages[0]!['x-schema-versions'].map((v) => v.version)).toEqual(d.versions.map((_, i) => i + 1));
  });
});

describe('docs/events.md', () => {
  const markdown = read('docs/events.md');

  it('has one catalog table row per event type', () => {
    const lines = markdown.split('\n');
    const header = lines.indexOf('| event | producer | consumers | description | versions |');
    expect(header).toBeGreaterThanOrEqual(0);
    const rows: string[] = [];
    for (let i = header + 2; lines[i]?.startsWith('|'); i++) rows.push(lines[i]!);
    expect(rows.map((r) => /^\| `([^`]+)` \|/.exec(r)?.[1])).toEqual(EVENT_DEFINITIONS.map((d) => d.type));
    for (const d of EVENT_DEFINITIONS) {
      const r = rows.find((x) => x.startsWith(`| \`${d.type}\` |`))!;
      expect(r).toContain(d.producer);
      for (const c of d.consumers) expect(r).toContain(c);
      expect(r).toContain(`v${d.versions.length}`);
    }
  });

  it('has a Mermaid flow with every event and the forward steps in order', () => {
    const block = /```mermaid\n([\s\S]*?)```/.exec(markdown)?.[1];
    expect(block).toBeDefined();
    expect(block!.startsWith('flowchart LR\n')).toBe(true);
    for (const d of EVENT_DEFINITIONS) expect(block).toContain(`(["${d.type}"])`);
    const chain = block!.split('\n').find((l) => l.includes('st_createOrder') && l.includes('st_confirmOrder'))!;
    const steps = [...chain.matchAll(/st_(\w+)\[/g)].map((m) => m[1]);
    expect(steps).toEqual([...ORDER_STEPS]);
  });

  it('has the consistency section with a row per producing activity', () => {
    expect(markdown).toContain('## Consistency');
    const producers = new Set(EVENT_DEFINITIONS.map((d) => d.producer.split('/').at(-1)!.trim()));
    for (const p of producers) expect(markdown).toMatch(new RegExp(`^\\| (approval: )?${p}( \\(|\\s\\|)`, 'm'));
  });
});
