import { z } from 'zod';
import {
  EventRegistrationError,
  EventSchemaViolationError,
  UnknownEventTypeError,
  UnknownEventVersionError,
} from './errors';
import type { EventDefinition } from './definition';
import { ORDER_EVENTS } from './definitions/order-events';
import { RETURN_EVENTS } from './definitions/return-events';

/**
 * The event catalog: every event type the system emits, with a zod schema per schema
 * version, upcasters from each version to the next, who produces it and who consumes it.
 * Writers validate against the newest version; readers upcast step by step, then validate.
 * Released versions are frozen by `events.lock.json` (see `catalog-check.ts`).
 */

export type { EventDefinition, EventVersion, Upcaster } from './definition';
export { CURRENCY } from './definitions/schemas';

export const EVENT_DEFINITIONS: readonly EventDefinition[] = [...ORDER_EVENTS, ...RETURN_EVENTS];

const BY_TYPE = new Map(EVENT_DEFINITIONS.map((d) => [d.type, d]));

/**
 * Adds event types to this process's catalog (types a newer version or a team's own code
 * defines), before the consumers and sagas that use them are defined. A type already
 * known is refused: its versions are released and frozen.
 */
export function registerEvents(definitions: readonly EventDefinition[]): void {
  for (const d of definitions) {
    if (BY_TYPE.has(d.type)) throw new EventRegistrationError(`Event type ${d.type} is already in the catalog`);
    if (d.versions.length === 0) throw new EventRegistrationError(`Event type ${d.type} has no schema version`);
  }
  for (const d of definitions) BY_TYPE.set(d.type, d);
}

export function eventDefinition(type: string): EventDefinition {
  const definition = BY_TYPE.get(type);
  if (!definition) throw new UnknownEventTypeError(type);
  return definition;
}

export const latestVersion = (type: string): number => eventDefinition(type).versions.length;

function validate(type: string, version: number, schema: z.ZodObject, payload: unknown): Record<string, unknown> {
  const result = schema.safeParse(payload);
  if (result.success) return result.data as Record<string, unknown>;
  throw new EventSchemaViolationError(
    type,
    version,
    result.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
  );
}

/**
 * Checks a payload about to be appended against the newest version of its type and returns
 * the version to store. An invalid event is a programming error: it throws, nothing is written.
 */
export function validateNewEvent(
  type: string,
  payload: unknown,
): { schemaVersion: number; payload: Record<string, unknown> } {
  const definition = eventDefinition(type);
  const schemaVersion = definition.versions.length;
  return { schemaVersion, payload: validate(type, schemaVersion, definition.versions.at(-1)!.schema, payload) };
}

/**
 * Reads a stored payload: validates it against its own version, upcasts it step by step to
 * the newest version and validates the result. Throws UnknownEventTypeError,
 * UnknownEventVersionError or EventSchemaViolationError.
 */
export function upcastToLatest(
  type: string,
  schemaVersion: number,
  payload: unknown,
): { schemaVersion: number; payload: Record<string, unknown> } {
  return upcastWith(eventDefinition(type), schemaVersion, payload);
}

/** `upcastToLatest` for a given definition (the compatibility gate checks candidate catalogs). */
export function upcastWith(
  definition: EventDefinition,
  schemaVersion: number,
  payload: unknown,
): { schemaVersion: number; payload: Record<string, unknown> } {
  const { type } = definition;
  const latest = definition.versions.length;
  if (!Number.isInteger(schemaVersion) || schemaVersion < 1 || schemaVersion > latest) {
    throw new UnknownEventVersionError(type, schemaVersion, latest);
  }
  let current = validate(type, schemaVersion, definition.versions[schemaVersion - 1]!.schema, payload);
  for (let v = schemaVersion + 1; v <= latest; v++) {
    const next = definition.versions[v - 1]!;
    if (!next.upcastFrom) throw new Error(`${type} v${v} has no upcaster from v${v - 1}`);
    current = validate(type, v, next.schema, next.upcastFrom(current));
  }
  return { schemaVersion: latest, payload: current };
}
