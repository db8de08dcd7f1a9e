/** A reader met an event type the catalog does not define (consumers dead-letter it). */
export class UnknownEventTypeError extends Error {
  override readonly name = 'UnknownEventTypeError';
  constructor(readonly eventType: string) {
    super(`Unknown event type ${eventType}`);
  }
}

/** A reader met a schema version of a known type that this code does not know. */
export class UnknownEventVersionError extends Error {
  override readonly name = 'UnknownEventVersionError';
  constructor(
    readonly eventType: string,
    readonly schemaVersion: number,
    readonly latestVersion: number,
  ) {
    super(`Unknown schema version ${schemaVersion} of ${eventType} (this code knows 1..${latestVersion})`);
  }
}

/** A payload does not match its schema: on append a programming error, on read a poison event. */
export class EventSchemaViolationError extends Error {
  override readonly name = 'EventSchemaViolationError';
  constructor(
    readonly eventType: string,
    readonly schemaVersion: number,
    readonly issues: { path: string; message: string }[],
  ) {
    super(
      `${eventType} v${schemaVersion} payload is invalid: ${issues.map((i) => `${i.path || '(root)'} ${i.message}`).join('; ')}`,
    );
  }
}

/** Event types registered twice, or without a schema (a programming error, found at start-up). */
export class EventRegistrationError extends Error {
  override readonly name = 'EventRegistrationError';
}
