/**
 * The payment gateway port: what the order saga needs from a payment provider. An adapter must
 * - send `idempotencyKey` to the provider as its idempotency key (it is the activity's command
 *   id, stable across retries and replays), so a retried authorization charges nothing twice;
 * - throw `PaymentDeclinedError` (src/domain/errors) for a decline: a business failure, not
 *   retried, that compensates the order;
 * - throw `TransientError` (or any other error) for outages, rate limits and timeouts: the
 *   activity retries with backoff;
 * - report `voided`/`refunded: false` instead of failing when there is nothing to undo, so a
 *   compensation can run again safely.
 */
export interface PaymentGateway {
  authorize(request: {
    idempotencyKey: string;
    token: string;
    amountCents: number;
  }): Promise<{ authorizationId: string }>;
  capture(authorizationId: string): Promise<void>;
  /** Releases an uncaptured authorization; `false` when there was nothing to void. */
  void(authorizationId: string): Promise<{ voided: boolean }>;
  /** Returns captured money; `false` when there was nothing to refund. */
  refund(authorizationId: string): Promise<{ refunded: boolean }>;
}
