import { ApplicationFailure } from '@temporalio/common';
import { DomainError, TransientError } from '../domain/errors';

/**
 * Maps errors crossing the activity boundary: business failures become non-retryable
 * ApplicationFailures typed by their class (`OutOfStock`, `PaymentDeclined` …); transient
 * ones stay retryable; anything else is rethrown as is (Temporal retries it).
 */
export function toActivityFailure(err: unknown): unknown {
  if (err instanceof DomainError) {
    return ApplicationFailure.create({
      message: err.message,
      type: err.name,
      nonRetryable: true,
      details: [err.details],
    });
  }
  if (err instanceof TransientError) {
    return ApplicationFailure.create({ message: err.message, type: err.name, nonRetryable: false });
  }
  return err;
}

/** Wraps every function of an activities object with `toActivityFailure`. */
export function withFailureMapping<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        throw toActivityFailure(err);
      }
    };
  }
  return wrapped as T;
}
