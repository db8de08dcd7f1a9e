import { createHash } from 'node:crypto';
import { AddressRefusedError } from '../../domain/errors';
import type { Carrier } from '../carrier';

/** Postal code the simulated carrier refuses to deliver to (DESIGN.md §4). */
export const UNDELIVERABLE_POSTAL_CODE = '00000';

/** A stateless carrier: the tracking id derives from the idempotency key, so retries agree. */
export function createSimulatedCarrier(): Carrier {
  return {
    async schedule({ idempotencyKey, address }) {
      if (address.postalCode === UNDELIVERABLE_POSTAL_CODE) {
        throw new AddressRefusedError(`The carrier does not deliver to postal code ${address.postalCode}`, {
          postalCode: address.postalCode,
        });
      }
      const digest = createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 12).toUpperCase();
      return { trackingId: `TRK-${digest}` };
    },
    async cancel() {
      // The simulated carrier has nothing to release.
    },
  };
}
