import type { z } from 'zod';

/** The shape of a catalog entry: an event type, its schema versions and who produces and consumes it. */

export type Upcaster = (payload: Record<string, unknown>) => Record<string, unknown>;

export interface EventVersion {
  schema: z.ZodObject;
  /** Turns a payload of the previous version into this version's shape (absent for v1). */
  upcastFrom?: Upcaster;
  /** What changed in this version. */
  note: string;
}

export interface EventDefinition {
  type: string;
  /** The aggregate whose stream holds it (`order-<orderId>`, `return-<returnId>`; a plugin's own, e.g. `booking`). */
  aggregateType: string;
  description: string;
  /** The saga step (activity) that appends it. */
  producer: string;
  /** Consumers that handle it (src/consumers; `order-summary` is the read model, still to come). */
  consumers: string[];
  /** Undoes an earlier event (part of a failure path). */
  compensation: boolean;
  /** versions[0] is schema version 1. */
  versions: EventVersion[];
}

/** A first schema version. */
export const v1 = (schema: z.ZodObject): EventVersion => ({ schema, note: 'First release.' });
