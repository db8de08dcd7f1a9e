/**
 * The orders the chaos suite places: every kind the saga knows, each with the outcome its
 * input calls for. Pure, so the expectations are reviewed (and unit-tested) apart from the run.
 */

export type OrderKind =
  'happy' | 'flakyPayment' | 'declined' | 'soldOut' | 'refusedAddress' | 'approved' | 'rejected' | 'cancelled';

export const ORDER_KINDS: readonly OrderKind[] = [
  'happy',
  'flakyPayment',
  'declined',
  'soldOut',
  'refusedAddress',
  'approved',
  'rejected',
  'cancelled',
];

/** Orders above this total wait for a decision: the suite runs its API with it. */
export const CHAOS_APPROVAL_THRESHOLD_CENTS = 5_000;

export interface Expected {
  status: 'CONFIRMED' | 'CANCELLED';
  sagaPhase: 'COMPLETED' | 'COMPENSATED';
  /** The `order.cancelled` reason, for cancelled orders. */
  reason?: string;
  /** What the suite does once the saga waits for approval. */
  decision?: 'approve' | 'reject' | 'cancel';
}

export const EXPECTED: Record<OrderKind, Expected> = {
  happy: { status: 'CONFIRMED', sagaPhase: 'COMPLETED' },
  // tok_processingError fails a few times, then succeeds: retried, never doubled.
  flakyPayment: { status: 'CONFIRMED', sagaPhase: 'COMPLETED' },
  declined: { status: 'CANCELLED', sagaPhase: 'COMPENSATED', reason: 'PaymentDeclined' },
  soldOut: { status: 'CANCELLED', sagaPhase: 'COMPENSATED', reason: 'OutOfStock' },
  refusedAddress: { status: 'CANCELLED', sagaPhase: 'COMPENSATED', reason: 'AddressRefused' },
  approved: { status: 'CONFIRMED', sagaPhase: 'COMPLETED', decision: 'approve' },
  rejected: { status: 'CANCELLED', sagaPhase: 'COMPENSATED', reason: 'chaos_rejected', decision: 'reject' },
  cancelled: { status: 'CANCELLED', sagaPhase: 'COMPENSATED', reason: 'chaos_cancelled', decision: 'cancel' },
};

/** SKU-0001 costs 9.99: 2 stay under the approval threshold, 10 go over it. */
export function orderBody(kind: OrderKind, customerId: string, sku = 'SKU-0001') {
  return {
    customerId,
    items: [{ sku: kind === 'soldOut' ? 'SKU-SOLDOUT' : sku, quantity: EXPECTED[kind].decision ? 10 : 2 }],
    payment: {
      token: kind === 'declined' ? 'tok_chargeDeclined' : kind === 'flakyPayment' ? 'tok_processingError' : 'tok_visa',
    },
    shippingAddress: {
      line1: '1 Main St',
      city: 'Berlin',
      postalCode: kind === 'refusedAddress' ? '00000' : '10115',
      country: 'DE',
    },
  };
}

/** The body of the decision request (approve takes none). */
export function decisionBody(decision: NonNullable<Expected['decision']>): Record<string, string> {
  return decision === 'reject'
    ? { reason: EXPECTED.rejected.reason! }
    : decision === 'cancel'
      ? { reason: EXPECTED.cancelled.reason! }
      : {};
}

/** A copy of `items` in an order drawn from `random` (Fisher–Yates). */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** `count` kinds, every kind as evenly as possible, shuffled by `random`. */
export function orderMix(count: number, random: () => number): OrderKind[] {
  return shuffled(
    Array.from({ length: count }, (_, i) => ORDER_KINDS[i % ORDER_KINDS.length]!),
    random,
  );
}

/** A small seeded generator (mulberry32), so a run is repeatable from its printed seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
