import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { PoolClient } from 'pg';
import type { Logger } from '../../../logger';
import { ORDER_SUMMARY_CHANNEL } from '../../../consumers/order-summary';
import { getOrderSummary } from '../../../consumers/order-summary-queries';
import type { Pool } from '../../../store/pool';
import type { ResolvedApiDeps } from '../../deps';
import { presentSummary } from './read';

/**
 * Live order changes for the console, as Server-Sent Events: the projector notifies
 * `saga_order_summary` with the order id when it commits a change to the read model; one
 * LISTEN connection per API process (taken while anyone watches) fans each change out as the
 * row the API shows. A lost connection costs the changes made until it is back (clients
 * reload the page they show when the stream reconnects), never a request.
 */

type Listener = (summary: ReturnType<typeof presentSummary>) => void;

/** How often an idle stream sends a comment, so proxies keep it open. */
const HEARTBEAT_MS = 15_000;
const RECONNECT_MS = 1_000;

export class OrderSummaryChanges {
  private client: PoolClient | undefined;
  private connecting: Promise<void> | undefined;
  private readonly listeners = new Set<Listener>();
  private closed = false;

  constructor(
    private readonly pool: Pool,
    private readonly logger?: Logger,
  ) {}

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    if (!this.client) this.connecting ??= this.listen();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) void this.release();
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    await this.release();
  }

  private async listen(): Promise<void> {
    try {
      const client = await this.pool.connect();
      client.on('error', (err) => {
        this.logger?.warn({ err: err.message }, 'live orders: LISTEN connection lost; reconnecting');
        this.drop(client, err);
      });
      client.on('notification', (message) => {
        if (message.channel === ORDER_SUMMARY_CHANNEL && message.payload) void this.changed(message.payload);
      });
      await client.query(`LISTEN ${ORDER_SUMMARY_CHANNEL}`);
      this.client = client;
      if (this.listeners.size === 0 || this.closed) await this.release();
    } catch (err) {
      this.logger?.warn({ err: (err as Error).message }, 'live orders: cannot LISTEN; retrying');
      this.retryLater();
    } finally {
      this.connecting = undefined;
    }
  }

  private drop(client: PoolClient, err?: Error): void {
    // A client being released already (release() took it) is not released twice.
    if (this.client !== client) return;
    this.client = undefined;
    client.release(err ?? true);
    this.retryLater();
  }

  private retryLater(): void {
    if (this.closed || this.listeners.size === 0) return;
    setTimeout(() => {
      if (!this.closed && this.listeners.size > 0 && !this.client) this.connecting ??= this.listen();
    }, RECONNECT_MS).unref();
  }

  private async release(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    await client.query(`UNLISTEN ${ORDER_SUMMARY_CHANNEL}`).catch(() => undefined);
    client.release();
  }

  private async changed(orderId: string): Promise<void> {
    const summary = await getOrderSummary(this.pool, orderId).catch(() => undefined);
    if (!summary) return;
    const shown = presentSummary(summary);
    for (const listener of this.listeners) listener(shown);
  }
}

export function ordersLiveRoute(app: FastifyInstance, deps: ResolvedApiDeps): void {
  const changes = new OrderSummaryChanges(deps.pool, deps.logger);
  const streams = new Set<() => void>();
  // Open streams would hold the server open: end them before it closes.
  app.addHook('preClose', async () => {
    for (const end of streams) end();
    await changes.close();
  });
  app.get(
    '/orders/live',
    {
      config: { access: 'customer' },
      schema: {
        tags: ['orders'],
        summary: 'Server-Sent Events: `order` with the read model row of each order as it changes',
        produces: ['text/event-stream'],
        response: {
          200: z
            .string()
            .describe('`event: ready`, then `event: order` with `data:` an order as GET /orders/:orderId shows it'),
        },
      },
    },
    (request, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        // nginx (docker-compose's api-gateway) must not buffer the stream.
        'x-accel-buffering': 'no',
        'x-correlation-id': String(reply.getHeader('x-correlation-id') ?? ''),
      });
      res.write(`retry: 2000\nevent: ready\ndata: {}\n\n`);
      const unsubscribe = changes.subscribe((summary) => {
        res.write(`event: order\nid: ${summary.orderId}:${summary.version}\ndata: ${JSON.stringify(summary)}\n\n`);
      });
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
      const end = () => {
        clearInterval(heartbeat);
        unsubscribe();
        streams.delete(end);
        if (!res.writableEnded) res.end();
      };
      streams.add(end);
      // The response closes when the client goes away (the request's own close comes earlier).
      res.on('close', end);
    },
  );
}
