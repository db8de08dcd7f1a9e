/**
 * Business failures. Activities turn them into non-retryable ApplicationFailures whose
 * `type` is the class name, so the saga can tell what failed without parsing messages.
 */
export abstract class DomainError extends Error {
  abstract override readonly name: string;
  constructor(
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export class OutOfStockError extends DomainError {
  override readonly name = 'OutOfStock';
}
export class UnknownProductError extends DomainError {
  override readonly name = 'UnknownProduct';
}
export class PaymentDeclinedError extends DomainError {
  override readonly name = 'PaymentDeclined';
}
export class AddressRefusedError extends DomainError {
  override readonly name = 'AddressRefused';
}
/**
 * A return cannot be opened for the order: it does not exist or is not confirmed, it belongs
 * to another customer, or it already has a return that is not cancelled. `details.rule` says
 * which (`ORDER_NOT_FOUND`, `ORDER_NOT_CONFIRMED`, `NOT_YOUR_ORDER`, `RETURN_EXISTS`).
 */
export class ReturnNotAllowedError extends DomainError {
  override readonly name = 'ReturnNotAllowed';
}
/** The order's current state does not allow the command (e.g. capture before authorize). */
export class InvalidTransitionError extends DomainError {
  override readonly name = 'InvalidTransition';
}

/** A dependency failed in a way worth retrying (network blip, gateway 5xx). */
export class TransientError extends Error {
  override readonly name = 'TransientError';
}
