import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { Logger } from '../logger';

import { EVENTS_CHANNEL } from '../store/event-store';

export { EVENTS_CHANNEL };

/** Follow-up wake-ups after a notification, in ms (see `notified`). */
const FOLLOW_UP_MS = [20, 100, 400];

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
  private followUps: NodeJS.Timeout[] | undefined;
  private client: pg.Client | undefined;
  private closed = false;
  private connecting: Promise<void> | undefined;

  constructor(private readonly options: WakeupOptions) {}

  start(): void {
    this.connecting ??= this.connect();
  }

  /** Bumped by every wake-up: a reader notes it before reading and passes it to `wait`. */
  generation = 0;

  /**
   * Resolves when events are committed, or after `timeoutMs` (the polling fallback). With
   * `since` (the `generation` noted before the reader's last read), resolves at once if a
   * wake-up came in between, so a notification landing between a read and the wait is not lost.
   */
  wait(timeoutMs: number, since?: number): Promise<void> {
    this.start();
    if (since !== undefined && since !== this.generation) return Promise.resolve();
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
    this.generation++;
    for (const wake of [...this.waiters]) wake();
  }

  /**
   * A notification, then a few follow-up wake-ups: events that committed while an older
   * transaction was still open are not readable yet when the notification arrives (readers
   * stop at the oldest open transaction), and nothing else would wake the readers once that
   * transaction ends. The follow-ups catch the common case within milliseconds; the poll
   * interval remains the bound for transactions that stay open longer.
   */
  private notified(): void {
    this.wakeAll();
    if (this.followUps) return;
    this.followUps = FOLLOW_UP_MS.map((ms) => setTimeout(() => this.wakeAll(), ms));
    setTimeout(() => (this.followUps = undefined), FOLLOW_UP_MS.at(-1)! + 1).unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.followUps ?? []) clearTimeout(t);
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
        client.on('notification', () => this.notified());
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
