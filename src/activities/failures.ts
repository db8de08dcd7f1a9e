import { ApplicationFailure } from '@temporalio/common';
import { DomainError, TransientError } from '../domain/errors';
import { dataRejectionOf } from '../store/rejected-data';

/** The `type` of the failure when PostgreSQL refused an activity's data (see `dataRejectionOf`). */
export const DATA_REJECTED = 'DataRejected';

/**
 * Maps errors crossing the activity boundary: business failures become non-retryable
 * ApplicationFailures typed by their class (`OutOfStock`, `PaymentDeclined` …); transient
 * ones stay retryable; data PostgreSQL refuses (a data exception such as a NUL in a text
 * value, a not-null or check violation) fails at once as `DataRejected`, since every retry
 * would be refused the same way; anything else is rethrown as is (Temporal retries it).
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
  const rejection = dataRejectionOf(err);
  if (rejection) {
    return ApplicationFailure.create({
      message: `PostgreSQL refused the data (SQLSTATE ${rejection.sqlstate} ${rejection.condition}): ${rejection.message}`,
      type: DATA_REJECTED,
      nonRetryable: true,
      details: [rejection],
    });
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
