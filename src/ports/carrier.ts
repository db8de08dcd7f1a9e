import type { ShippingAddress } from '../domain/order';

/**
 * The shipping carrier port: what the order saga needs from a carrier. An adapter must
 * - treat `idempotencyKey` as the identity of a scheduling request: the same key again returns
 *   the same tracking id and schedules nothing new (activities retry after crashes);
 * - throw `AddressRefusedError` (src/domain/errors) when the carrier refuses the address: a
 *   business failure, not retried, that compensates the order;
 * - throw anything else (or `TransientError`) for outages and timeouts: the activity retries;
 * - make `cancel` harmless to repeat.
 */
export interface Carrier {
  schedule(request: {
    idempotencyKey: string;
    orderId: string;
    address: ShippingAddress;
  }): Promise<{ trackingId: string }>;
  cancel(trackingId: string): Promise<void>;
}
