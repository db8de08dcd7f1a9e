import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { Logger } from '../logger';

import { EVENTS_CHANNEL } from '../store/event-store';

export { EVENTS_CHANNEL };

export interface WakeupOptions {
  connectionString: string;
  logger?: Logger;
  /** Pause before reconnecting a lost LISTEN connection. Default 1 s. */
  reconnectDelayMs?: number;
}

/**
 * LISTENs on the channel appenders notify after each commit (`appendToStream`), on one connection per
 * process, and wakes every reader waiting on it. Losing the connection only costs latency:
 * readers fall back to their poll interval until it is back.
 */
export class EventsWakeup {
  private waiters = new Set<() => void>();
  private client: pg.Client | undefined;
  private closed = false;
  private connecting: Promise<void> | undefined;

  constructor(private readonly options: WakeupOptions) {}

  start(): void {
    this.connecting ??= this.connect();
  }

  /** Resolves when events are committed, or after `timeoutMs` (the polling fallback). */
  wait(timeoutMs: number): Promise<void> {
    this.start();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
  }

  /** Wakes every waiter now (also used to stop readers promptly). */
  wakeAll(): void {
    for (const wake of [...this.waiters]) wake();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wakeAll();
    await this.client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    while (!this.closed) {
      const client = new pg.Client({
        connectionString: this.options.connectionString,
        application_name: 'saga-wakeup',
      });
      try {
        client.on('notification', () => this.wakeAll());
        const lost = new Promise<void>((resolve) => {
          client.on('error', () => resolve());
          client.on('end', () => resolve());
        });
        await client.connect();
        await client.query(`LISTEN ${EVENTS_CHANNEL}`);
        this.client = client;
        // Anything committed while we were not listening is picked up by this wake-up.
        this.wakeAll();
        await lost;
      } catch (err) {
        this.options.logger?.warn({ err }, 'LISTEN connection failed; polling until it is back');
      }
      this.client = undefined;
      await client.end().catch(() => undefined);
      if (!this.closed) await sleep(this.options.reconnectDelayMs ?? 1000);
    }
  }
}
