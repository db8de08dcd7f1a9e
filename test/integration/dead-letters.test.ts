import { randomUUID } from 'node:crypto';
import pino from 'pino';
import {
  DeadLetterStateError,
  discardDeadLetter,
  listDeadLetters,
  replayDeadLetter,
  showDeadLetter,
  type DeadLetter,
} from '../../src/delivery/dead-letters';
import { processDelivery } from '../../src/delivery/deliver';
import { startDelivery, type Delivery } from '../../src/delivery/start';
import type { RawEvent } from '../../src/delivery/contract';
import { appendToStream } from '../../src/store/event-store';
import { withTransaction } from '../../src/store/pool';
import { waitFor } from '../../src/util/wait';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { insertRawEvent, newStreamId, RECORDER_SQL, recordedEffects, recorder } from '../helpers/delivery';

// Dead letters over the Postgres-native transport: a handler that keeps failing dead-letters
// its event and parks the later events of the same stream (per-aggregate order), operators
// replay or discard, and poison events (unknown type, unknown schema version, invalid
// payload) are dead-lettered without stopping the consumer. (Postgres only: the brokers
// route by event type, so an unknown type would never reach the recorder's queue there.)

const TIMEOUT = 180_000;
const WAIT = { timeoutMs: 60_000 };

/** Warnings and errors the delivery runtime logs, so a test can see it never got stuck. */
const logged: { level: number; msg: string; err?: string }[] = [];
const logger = pino(
  { level: 'warn' },
  {
    write(line: string) {
      logged.push(JSON.parse(line) as (typeof logged)[number]);
    },
  },
);
const stuck = () => logged.filter((l) => l.msg === 'consumer cannot proceed');

let db: TestDatabase;
let delivery: Delivery | undefined;
const failFor = new Set<string>();
const consumer = recorder({ failFor, maxAttempts: 3 });
const OPERATOR = 'test-operator';

/** Appends one order.approved event with a chosen id, at the given version. */
async function append(streamId: string, version: number, eventId: string = randomUUID()): Promise<string> {
  await withTransaction(db.pool, (tx) =>
    appendToStream(tx, streamId, version - 1, [
      { eventId, eventType: 'order.approved', payload: { orderId: streamId.slice('order-'.length) } },
    ]),
  );
  return eventId;
}

/** Writes a row straight into `events`, bypassing the store's validation (a poison event). */
const insertRaw = (streamId: string, eventType: string, schemaVersion: number, payload: unknown) =>
  insertRawEvent(db.pool, streamId, eventType, schemaVersion, payload);

const lettersOf = async (streamId: string): Promise<DeadLetter[]> =>
  (await listDeadLetters(db.pool, { status: 'all', limit: 1000 })).filter((l) => l.streamId === streamId);

const letterFor = async (eventId: string): Promise<DeadLetter | undefined> =>
  (await listDeadLetters(db.pool, { status: 'all', limit: 1000 })).find((l) => l.eventId === eventId);

/** Versions of a stream the recorder took effect for, in the order the effects happened. */
async function effectVersions(streamId: string): Promise<number[]> {
  const { rows } = await db.pool.query<{ stream_version: number }>(
    'SELECT stream_version FROM test_deliveries WHERE consumer = $1 AND stream_id = $2 ORDER BY seq',
    [consumer.name, streamId],
  );
  return rows.map((r) => r.stream_version);
}

async function actionsOf(id: number) {
  return (await showDeadLetter(db.pool, id)).actions.map(({ action, actor, outcome, detail }) => ({
    action,
    actor,
    outcome,
    detail,
  }));
}

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(RECORDER_SQL);
  delivery = await startDelivery({
    pool: db.pool,
    connectionString: db.url,
    transport: { kind: 'postgres' },
    consumers: [consumer],
    topology: [consumer],
    relay: true,
    logger,
    intervals: { pollMs: 250, rebalanceMs: 250, standbyMs: 250 },
  });
});
afterAll(async () => {
  await delivery?.stop();
  await db?.drop();
});

describe('dead letters over the postgres transport', () => {
  // Shared between the tests below, which run in order.
  const A = newStreamId();
  const others = [newStreamId(), newStreamId(), newStreamId()];
  const VERSIONS = 5;
  const POISONED = 2;
  const poisonId = randomUUID();
  const idsOfA: string[] = [];
  let poisonLetter: DeadLetter;

  test(
    'a handler that keeps failing dead-letters its event and parks the later events of that stream only',
    async () => {
      failFor.add(poisonId);
      for (let v = 1; v <= VERSIONS; v++) {
        idsOfA.push(await append(A, v, v === POISONED ? poisonId : undefined));
        for (const s of others) await append(s, v);
      }

      await waitFor(
        async () =>
          (await lettersOf(A)).length === VERSIONS - POISONED + 1 &&
          (await recordedEffects(db.pool, consumer.name)).distinct === others.length * VERSIONS + POISONED - 1,
        { ...WAIT, description: 'the failing event to be dead-lettered and the other streams handled' },
      );

      const letters = await lettersOf(A);
      poisonLetter = letters.find((l) => l.eventId === poisonId)!;
      expect(poisonLetter).toMatchObject({
        consumer: consumer.name,
        streamId: A,
        eventType: 'order.approved',
        status: 'open',
        reason: 'handler_failed',
        attempts: 3,
        resolvedAt: null,
      });
      expect(poisonLetter.error).toContain(`recorder refuses ${poisonId}`);

      // The later events of A wait behind it, in order; none of them took effect.
      const parked = letters.filter((l) => l.eventId !== poisonId).sort((a, b) => a.globalPosition - b.globalPosition);
      expect(parked.map((l) => l.eventId)).toEqual(idsOfA.slice(POISONED));
      for (const l of parked) {
        expect(l).toMatchObject({ status: 'parked', reason: 'parked', attempts: 0 });
        expect(l.error).toContain(`held behind dead letter ${poisonLetter.id}`);
        expect(l.globalPosition).toBeGreaterThan(poisonLetter.globalPosition);
      }
      expect(await effectVersions(A)).toEqual([1]);

      // Every other stream: all its events, once each, in version order.
      for (const s of others)
        expect({ s, versions: await effectVersions(s) }).toEqual({ s, versions: [1, 2, 3, 4, 5] });
      const effects = await recordedEffects(db.pool, consumer.name);
      expect(effects.doubled).toEqual([]);
      expect(effects.outOfOrder).toEqual([]);
      expect(effects.total).toBe(others.length * VERSIONS + POISONED - 1);
      expect((await listDeadLetters(db.pool)).every((l) => l.streamId === A)).toBe(true);

      // A parked event cannot be replayed ahead of the dead letter it waits behind.
      await expect(replayDeadLetter(db.pool, [consumer], parked[0]!.id, OPERATOR)).rejects.toThrow(
        /waits behind dead letter/,
      );
      // While the fault persists, a replay fails, is recorded, and releases nothing.
      const failed = await replayDeadLetter(db.pool, [consumer], poisonLetter.id, OPERATOR);
      expect(failed.outcome).toBe('failed');
      expect(failed.error).toContain(`recorder refuses ${poisonId}`);
      expect(failed.released).toEqual([]);
      expect(failed.deadLetter).toMatchObject({ status: 'open', attempts: 4 });
      expect(await effectVersions(A)).toEqual([1]);
    },
    TIMEOUT,
  );

  test(
    'after the fault is fixed, a replay applies the event and releases the parked ones in order, once',
    async () => {
      failFor.delete(poisonId);
      const result = await replayDeadLetter(db.pool, [consumer], poisonLetter.id, OPERATOR);

      expect(result.outcome).toBe('applied');
      expect(result.deadLetter).toMatchObject({ id: poisonLetter.id, status: 'replayed' });
      expect(result.deadLetter.resolvedAt).not.toBeNull();
      const parkedIds = (await lettersOf(A))
        .filter((l) => l.eventId !== poisonId)
        .sort((a, b) => a.globalPosition - b.globalPosition)
        .map((l) => l.id);
      expect(result.released).toEqual(parkedIds.map((id) => ({ id, outcome: 'applied' })));
      for (const l of await lettersOf(A))
        expect({ id: l.id, status: l.status }).toEqual({ id: l.id, status: 'replayed' });

      expect(await effectVersions(A)).toEqual([1, 2, 3, 4, 5]);
      const effects = await recordedEffects(db.pool, consumer.name);
      expect(effects.doubled).toEqual([]);
      expect(effects.outOfOrder).toEqual([]);
      expect(effects.distinct).toBe((others.length + 1) * VERSIONS);

      // Who did it is on record: the failed attempt, then the successful replay.
      expect(await actionsOf(poisonLetter.id)).toEqual([
        { action: 'replay', actor: OPERATOR, outcome: 'failed', detail: expect.stringContaining('recorder refuses') },
        { action: 'replay', actor: OPERATOR, outcome: 'applied', detail: null },
      ]);
      for (const id of parkedIds) {
        expect(await actionsOf(id)).toEqual([
          {
            action: 'replay',
            actor: OPERATOR,
            outcome: 'applied',
            detail: `released after dead letter ${poisonLetter.id}`,
          },
        ]);
      }
      const { rows } = await db.pool.query<{ actor: string }>(
        'SELECT DISTINCT actor FROM dead_letter_actions WHERE dead_letter_id = ANY($1)',
        [[poisonLetter.id, ...parkedIds]],
      );
      expect(rows).toEqual([{ actor: OPERATOR }]);

      // Replaying it again is refused: it is already replayed.
      await expect(replayDeadLetter(db.pool, [consumer], poisonLetter.id, OPERATOR)).rejects.toThrow(
        DeadLetterStateError,
      );
      await expect(replayDeadLetter(db.pool, [consumer], poisonLetter.id, OPERATOR)).rejects.toThrow(
        /already replayed/,
      );
      expect(await actionsOf(poisonLetter.id)).toHaveLength(2);

      // A redelivery of the replayed (or released) events has no second effect.
      const stored = (await showDeadLetter(db.pool, poisonLetter.id)).event as RawEvent;
      expect(stored.eventId).toBe(poisonId);
      expect(await processDelivery(db.pool, consumer, 0, { kind: 'event', event: stored })).toBe('duplicate');
      const released = (await showDeadLetter(db.pool, parkedIds[0]!)).event as RawEvent;
      expect(await processDelivery(db.pool, consumer, 0, { kind: 'event', event: released })).toBe('duplicate');
      expect(await effectVersions(A)).toEqual([1, 2, 3, 4, 5]);

      // The stream is no longer parked: the running consumer handles A's next event itself.
      await append(A, VERSIONS + 1);
      await waitFor(async () => (await effectVersions(A)).length === VERSIONS + 1, {
        ...WAIT,
        description: 'the next event of the unparked stream to be handled',
      });
      expect(await effectVersions(A)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(await lettersOf(A)).toHaveLength(VERSIONS - POISONED + 1);
    },
    TIMEOUT,
  );

  // Poison rows written straight into `events`, each in its own stream.
  const unknownType = newStreamId();
  const unknownVersion = newStreamId();
  const invalidPayload = newStreamId();
  const poison = { unknownType: '', unknownVersion: '', invalidPayload: '' };
  let parkedBehindPoison: string;

  test(
    'poison events are dead-lettered with their reason and the consumer keeps running',
    async () => {
      poison.unknownType = await insertRaw(unknownType, 'order.teleported', 1, {
        orderId: unknownType.slice('order-'.length),
      });
      poison.unknownVersion = await insertRaw(unknownVersion, 'order.approved', 99, {
        orderId: unknownVersion.slice('order-'.length),
      });
      poison.invalidPayload = await insertRaw(invalidPayload, 'order.approved', 1, { orderId: 42 });
      // A valid event behind the invalid one: it must wait for the poison to be resolved.
      parkedBehindPoison = await append(invalidPayload, 2);
      // A normal event after all of them, in a stream of its own.
      const after = newStreamId();
      await append(after, 1);

      await waitFor(
        async () =>
          (await effectVersions(after)).length === 1 &&
          (await Promise.all(Object.values(poison).map(letterFor))).every(Boolean) &&
          (await letterFor(parkedBehindPoison)) !== undefined,
        { ...WAIT, description: 'the poison events to be dead-lettered and the normal one handled' },
      );

      const expected = [
        {
          eventId: poison.unknownType,
          streamId: unknownType,
          eventType: 'order.teleported',
          schemaVersion: 1,
          reason: 'unknown_type',
          error: /UnknownEventTypeError: Unknown event type order\.teleported/,
        },
        {
          eventId: poison.unknownVersion,
          streamId: unknownVersion,
          eventType: 'order.approved',
          schemaVersion: 99,
          reason: 'unknown_version',
          error: /UnknownEventVersionError: Unknown schema version 99 of order\.approved/,
        },
        {
          eventId: poison.invalidPayload,
          streamId: invalidPayload,
          eventType: 'order.approved',
          schemaVersion: 1,
          reason: 'invalid_payload',
          error: /EventSchemaViolationError: order\.approved v1 payload is invalid: orderId/,
        },
      ];
      for (const { error, ...fields } of expected) {
        const letter = await letterFor(fields.eventId);
        // Not retried: reading it again could never succeed.
        expect(letter).toMatchObject({ ...fields, consumer: consumer.name, status: 'open', attempts: 1 });
        expect(letter!.error).toMatch(error);
      }
      expect(await letterFor(parkedBehindPoison)).toMatchObject({
        streamId: invalidPayload,
        status: 'parked',
        reason: 'parked',
      });
      expect(await effectVersions(invalidPayload)).toEqual([]);
      expect(await effectVersions(after)).toEqual([1]);

      // Nothing crashed or got stuck: the partition is still owned and never stopped to retry.
      expect(delivery!.runner!.ownership()).toEqual({ [consumer.name]: [0] });
      expect(stuck()).toEqual([]);
      // ...and its checkpoint moved past every event, poison included.
      const { rows: last } = await db.pool.query<{ max: number }>('SELECT max(global_position) AS max FROM events');
      await waitFor(
        async () => {
          const { rows } = await db.pool.query<{ global_position: number }>(
            'SELECT global_position FROM subscription_checkpoints WHERE subscriber = $1',
            [`consumer:${consumer.name}:0`],
          );
          return rows[0]?.global_position === last[0]!.max;
        },
        { ...WAIT, description: 'the checkpoint to move past every event' },
      );
    },
    TIMEOUT,
  );

  test(
    'discarding a poison event resolves it, records who did it and releases its stream',
    async () => {
      const letter = (await letterFor(poison.invalidPayload))!;
      const parked = (await letterFor(parkedBehindPoison))!;
      const note = 'payload written by a broken importer';

      const result = await discardDeadLetter(db.pool, [consumer], letter.id, OPERATOR, note);
      expect(result.outcome).toBe('discarded');
      expect(result.deadLetter).toMatchObject({ id: letter.id, status: 'discarded' });
      expect(result.deadLetter.resolvedAt).not.toBeNull();
      expect(result.released).toEqual([{ id: parked.id, outcome: 'applied' }]);
      expect(await actionsOf(letter.id)).toEqual([
        { action: 'discard', actor: OPERATOR, outcome: 'discarded', detail: note },
      ]);
      expect(await letterFor(parkedBehindPoison)).toMatchObject({ status: 'replayed' });

      // The discarded event never takes effect; the one behind it did, exactly once.
      expect(await effectVersions(invalidPayload)).toEqual([2]);
      const effects = await recordedEffects(db.pool, consumer.name);
      expect(effects.doubled).toEqual([]);
      expect(effects.outOfOrder).toEqual([`${invalidPayload}: v2 after v0`]);

      // A discarded event counts as handled: a redelivery neither reopens it nor adds a letter.
      const { rows: inbox } = await db.pool.query('SELECT 1 FROM inbox WHERE consumer = $1 AND event_id = $2', [
        consumer.name,
        poison.invalidPayload,
      ]);
      expect(inbox).toHaveLength(1);
      const stored = (await showDeadLetter(db.pool, letter.id)).event as RawEvent;
      await processDelivery(db.pool, consumer, 0, { kind: 'event', event: stored });
      expect(await lettersOf(invalidPayload)).toEqual([
        expect.objectContaining({ id: letter.id, status: 'discarded' }),
        expect.objectContaining({ id: parked.id, status: 'replayed' }),
      ]);

      await expect(discardDeadLetter(db.pool, [consumer], letter.id, OPERATOR)).rejects.toThrow(/already discarded/);

      // The stream takes new events again, through the running consumer.
      await append(invalidPayload, 3);
      await waitFor(async () => (await effectVersions(invalidPayload)).length === 2, {
        ...WAIT,
        description: 'the released stream to take its next event',
      });
      expect(await effectVersions(invalidPayload)).toEqual([2, 3]);

      // What is left unresolved: the two poison events nobody acted on.
      expect(
        (await listDeadLetters(db.pool))
          .map((l) => ({ eventId: l.eventId, status: l.status }))
          .sort((a, b) => a.eventId.localeCompare(b.eventId)),
      ).toEqual(
        [poison.unknownType, poison.unknownVersion]
          .map((eventId) => ({ eventId, status: 'open' }))
          .sort((a, b) => a.eventId.localeCompare(b.eventId)),
      );
      expect(stuck()).toEqual([]);
    },
    TIMEOUT,
  );
});
