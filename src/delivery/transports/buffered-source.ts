import type { Delivery, PartitionSource } from '../contract';

/**
 * The half of a broker partition source that does not depend on the broker: messages the
 * broker pushes are buffered in arrival order, handed out by `fetch`, and remembered until
 * acknowledged. A broker failure is kept and thrown by the next `fetch`.
 */
export class DeliveryBuffer<M> {
  private buffer: { delivery: Delivery; message: M }[] = [];
  private handedOut: M[] = [];
  private notify: (() => void) | undefined;
  private failure: Error | undefined;

  push(delivery: Delivery, message: M): void {
    this.buffer.push({ delivery, message });
    this.notify?.();
  }

  fail(err: Error): void {
    this.failure = err;
    this.notify?.();
  }

  async fetch(max: number, waitMs: number): Promise<Delivery[]> {
    if (this.failure) throw this.failure;
    if (this.buffer.length === 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        this.notify = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.notify = undefined;
      if (this.failure) throw this.failure;
    }
    const taken = this.buffer.splice(0, max);
    this.handedOut.push(...taken.map((t) => t.message));
    return taken.map((t) => t.delivery);
  }

  /** The messages of the first `count` handed-out deliveries, now done. */
  takeAcknowledged(count: number): M[] {
    return this.handedOut.splice(0, count);
  }

  /** Everything not acknowledged, in order (handed out first, then still buffered); clears the buffer. */
  drain(): M[] {
    const pending = [...this.handedOut, ...this.buffer.map((b) => b.message)];
    this.buffer = [];
    this.handedOut = [];
    this.failure = undefined;
    return pending;
  }
}

/** A broker partition source: the broker-specific part is how messages are acknowledged and returned. */
export abstract class BufferedPartitionSource<M> implements PartitionSource {
  protected readonly buffer = new DeliveryBuffer<M>();

  fetch(max: number, waitMs: number): Promise<Delivery[]> {
    return this.buffer.fetch(max, waitMs);
  }

  abstract ack(deliveries: Delivery[]): Promise<void>;
  abstract rewind(): Promise<void>;
  abstract close(): Promise<void>;
}
