// Sandbox-safe (no Node built-ins): imported by workflow code as well.

/** The chain a piece of work belongs to, carried across the API, Temporal and consumers. */
export interface Correlation {
  correlationId: string;
  /** The message (command or event) that caused the current work, when known. */
  causationId?: string;
  /** The saga's workflow, when the work runs for one (activities); logged with every line. */
  workflowId?: string;
}

/** Header names used on Temporal calls and broker messages. */
export const CORRELATION_HEADER = 'correlation-id';
export const CAUSATION_HEADER = 'causation-id';
