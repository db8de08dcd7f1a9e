import { z } from 'zod';
import {
  EVENT_DEFINITIONS,
  latestVersion,
  upcastToLatest,
  validateNewEvent,
  type EventDefinition,
} from '../../src/events/catalog';
import { buildLock, checkCatalog, readLock, readSamples } from '../../src/events/catalog-check';
import { EventSchemaViolationError, UnknownEventTypeError, UnknownEventVersionError } from '../../src/events/errors';

const samples = readSamples();
const sampleOf = (type: string, version: number) =>
  samples.find((s) => s.eventType === type && s.schemaVersion === version)!.payload as Record<string, unknown>;

/** The catalog with one definition replaced (what a careless edit would do). */
const withDefinition = (type: string, change: (d: EventDefinition) => EventDefinition) =>
  EVENT_DEFINITIONS.map((d) => (d.type === type ? change(d) : d));

describe('event catalog', () => {
  it('passes the compatibility gate as committed (lock, samples, upcasters)', () => {
    expect(checkCatalog()).toEqual([]);
  });

  it('the committed lock is exactly what the catalog releases', () => {
    expect(readLock()).toEqual(buildLock());
  });

  it.each(samples.map((s) => [s.file, s] as const))(
    'stored sample %s reads as a valid newest event',
    (_file, sample) => {
      const read = upcastToLatest(sample.eventType, sample.schemaVersion, sample.payload);
      expect(read.schemaVersion).toBe(latestVersion(sample.eventType));
      const newest = EVENT_DEFINITIONS.find((d) => d.type === sample.eventType)!.versions.at(-1)!.schema;
      expect(newest.safeParse(read.payload).success).toBe(true);
    },
  );

  describe('upcasters', () => {
    it('order.created v1 → v2: quoted prices unknown (null), currency USD, nothing else changed', () => {
      const v1 = sampleOf('order.created', 1);
      const { schemaVersion, payload } = upcastToLatest('order.created', 1, v1);
      expect(schemaVersion).toBe(2);
      expect(payload).toEqual({
        ...v1,
        items: (v1.items as object[]).map((i) => ({ ...i, unitPriceCents: null })),
        currency: 'USD',
      });
    });

    it('a newest-version payload passes through unchanged', () => {
      const v2 = sampleOf('order.created', 2);
      expect(upcastToLatest('order.created', 2, v2)).toEqual({ schemaVersion: 2, payload: v2 });
    });

    it('every version after the first has an upcaster', () => {
      for (const d of EVENT_DEFINITIONS)
        d.versions.slice(1).forEach((v) => expect(typeof v.upcastFrom).toBe('function'));
    });
  });

  describe('readers and writers', () => {
    it('reports unknown types and versions as typed errors, not crashes', () => {
      expect(() => upcastToLatest('order.teleported', 1, {})).toThrow(UnknownEventTypeError);
      expect(() => upcastToLatest('order.created', 3, {})).toThrow(UnknownEventVersionError);
      expect(() => upcastToLatest('order.created', 0, {})).toThrow(UnknownEventVersionError);
    });

    it('rejects a stored payload that does not match its version, naming the field', () => {
      const bad = { ...sampleOf('payment.authorized', 1), amountCents: -1 };
      const error = (() => {
        try {
          upcastToLatest('payment.authorized', 1, bad);
        } catch (e) {
          return e as EventSchemaViolationError;
        }
      })();
      expect(error).toBeInstanceOf(EventSchemaViolationError);
      expect(error!.issues.map((i) => i.path)).toEqual(['amountCents']);
      expect(error!.message).toMatch(/payment\.authorized v1/);
    });

    it('writers validate against the newest version and get its number', () => {
      expect(validateNewEvent('order.created', sampleOf('order.created', 2)).schemaVersion).toBe(2);
      expect(() => validateNewEvent('order.created', sampleOf('order.created', 1))).toThrow(EventSchemaViolationError);
      expect(() => validateNewEvent('order.unknown', {})).toThrow(UnknownEventTypeError);
    });
  });

  describe('the gate catches incompatible changes', () => {
    it('a released schema that changed, naming type and version', () => {
      const definitions = withDefinition('payment.captured', (d) => ({
        ...d,
        versions: [{ ...d.versions[0]!, schema: d.versions[0]!.schema.extend({ captureNote: z.string() }) }],
      }));
      expect(checkCatalog({ definitions })).toEqual([
        'payment.captured v1: the released schema changed; add v2 with an upcaster instead',
        expect.stringMatching(/^payment\.captured v1 sample .* captureNote/),
      ]);
    });

    it('a released version or type that disappeared', () => {
      const fewer = withDefinition('order.created', (d) => ({ ...d, versions: [d.versions[0]!] }));
      expect(checkCatalog({ definitions: fewer })).toContain(
        'order.created v2: a released version disappeared from the catalog',
      );
      const without = EVENT_DEFINITIONS.filter((d) => d.type !== 'order.approved');
      expect(checkCatalog({ definitions: without })).toContain(
        'order.approved: a released event type disappeared from the catalog',
      );
    });

    it('a new version without an upcaster, not released and without a sample', () => {
      const definitions = withDefinition('shipment.scheduled', (d) => ({
        ...d,
        versions: [...d.versions, { schema: d.versions[0]!.schema.extend({ carrier: z.string() }), note: 'carrier' }],
      }));
      expect(checkCatalog({ definitions })).toEqual([
        'shipment.scheduled v2: not released in events.lock.json (run `saga catalog --update-lock`)',
        'shipment.scheduled v2: has no upcaster from v1',
        'shipment.scheduled v2: no stored sample (test/fixtures/events/shipment.scheduled/v2.json)',
        expect.stringMatching(/^shipment\.scheduled v1 sample .* no longer reads as a valid newest event/),
      ]);
    });

    it('a sample that no longer upcasts to a valid newest event', () => {
      const definitions = withDefinition('order.created', (d) => ({
        ...d,
        versions: [d.versions[0]!, { ...d.versions[1]!, upcastFrom: (p) => ({ ...p }) }], // forgets the new fields
      }));
      expect(checkCatalog({ definitions })).toEqual([
        expect.stringMatching(
          /^order\.created v1 sample \(order\.created\/v1\.json\) no longer reads as a valid newest event/,
        ),
      ]);
    });
  });
});
