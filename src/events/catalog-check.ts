import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { EVENT_DEFINITIONS, upcastWith, type EventDefinition } from './catalog';

/**
 * The compatibility gate. Released event versions are frozen in `events.lock.json` (their
 * JSON Schemas); stored samples of every version live under `test/fixtures/events/`. The
 * gate fails when a released schema changed, a released version or type disappeared, a new
 * version is not released (locked) yet, a version has no upcaster, or a sample no longer
 * reads as a valid newest event.
 */

export const REPO_ROOT = path.resolve(__dirname, '../..');
export const LOCK_FILE = path.join(REPO_ROOT, 'events.lock.json');
export const SAMPLES_DIR = path.join(REPO_ROOT, 'test/fixtures/events');

export interface CatalogLock {
  /** event type → schema version → JSON Schema */
  events: Record<string, Record<string, unknown>>;
}

export interface EventSample {
  file: string;
  eventType: string;
  schemaVersion: number;
  payload: unknown;
}

/** JSON Schema of one version, as locked. */
export function jsonSchemaOf(schema: z.ZodObject): unknown {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema) as Record<string, unknown>;
  return rest;
}

/** Key order must not count as a change. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export function buildLock(definitions: readonly EventDefinition[] = EVENT_DEFINITIONS): CatalogLock {
  const events: CatalogLock['events'] = {};
  for (const d of [...definitions].sort((a, b) => a.type.localeCompare(b.type))) {
    events[d.type] = Object.fromEntries(d.versions.map((v, i) => [String(i + 1), jsonSchemaOf(v.schema)]));
  }
  return { events };
}

export function readLock(file: string = LOCK_FILE): CatalogLock {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as CatalogLock) : { events: {} };
}

export function writeLock(lock: CatalogLock = buildLock(), file: string = LOCK_FILE): void {
  writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
}

/** Samples are `<dir>/<event type>/v<N>.json` holding `{ "payload": … }`. */
export function readSamples(dir: string = SAMPLES_DIR): EventSample[] {
  if (!existsSync(dir)) return [];
  const samples: EventSample[] = [];
  for (const eventType of readdirSync(dir).sort()) {
    for (const file of readdirSync(path.join(dir, eventType)).sort()) {
      const match = /^v(\d+)\.json$/.exec(file);
      if (!match) continue;
      const content = JSON.parse(readFileSync(path.join(dir, eventType, file), 'utf8')) as { payload: unknown };
      samples.push({
        file: `${eventType}/${file}`,
        eventType,
        schemaVersion: Number(match[1]),
        payload: content.payload,
      });
    }
  }
  return samples;
}

export interface CatalogCheckInput {
  definitions?: readonly EventDefinition[];
  lock?: CatalogLock;
  samples?: EventSample[];
}

/** Every problem found, each naming the event type and version; empty when compatible. */
export function checkCatalog(input: CatalogCheckInput = {}): string[] {
  const definitions = input.definitions ?? EVENT_DEFINITIONS;
  const lock = input.lock ?? readLock();
  const samples = input.samples ?? readSamples();
  const problems: string[] = [];
  const byType = new Map(definitions.map((d) => [d.type, d]));

  for (const [type, versions] of Object.entries(lock.events)) {
    const definition = byType.get(type);
    if (!definition) {
      problems.push(`${type}: a released event type disappeared from the catalog`);
      continue;
    }
    for (const [version, lockedSchema] of Object.entries(versions)) {
      const current = definition.versions[Number(version) - 1];
      if (!current) {
        problems.push(`${type} v${version}: a released version disappeared from the catalog`);
      } else if (canonical(jsonSchemaOf(current.schema)) !== canonical(lockedSchema)) {
        problems.push(
          `${type} v${version}: the released schema changed; add v${definition.versions.length + 1} with an upcaster instead`,
        );
      }
    }
  }

  for (const definition of definitions) {
    definition.versions.forEach((version, index) => {
      const n = index + 1;
      if (!lock.events[definition.type]?.[String(n)]) {
        problems.push(
          `${definition.type} v${n}: not released in events.lock.json (run \`saga catalog --update-lock\`)`,
        );
      }
      if (n > 1 && !version.upcastFrom) problems.push(`${definition.type} v${n}: has no upcaster from v${n - 1}`);
      if (!samples.some((s) => s.eventType === definition.type && s.schemaVersion === n)) {
        problems.push(
          `${definition.type} v${n}: no stored sample (test/fixtures/events/${definition.type}/v${n}.json)`,
        );
      }
    });
  }

  for (const sample of samples) {
    const definition = byType.get(sample.eventType);
    if (!definition) {
      problems.push(`${sample.file}: sample of an event type the catalog does not define`);
      continue;
    }
    try {
      upcastWith(definition, sample.schemaVersion, sample.payload);
    } catch (err) {
      problems.push(
        `${sample.eventType} v${sample.schemaVersion} sample (${sample.file}) no longer reads as a valid newest event: ${
          (err as Error).message.split('\n')[0]
        }`,
      );
    }
  }
  return problems;
}
