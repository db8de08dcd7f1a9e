import type { Client } from '@temporalio/client';
import type { Registry } from 'prom-client';
import type { ConsumerDefinition } from '../delivery/consumer';
import type { Logger } from '../logger';
import type { Pool } from '../store/pool';
import type { TransportKind } from '../delivery/contract';
import type { OrderSagaInput } from '../workflows';
import type { ApiKey } from './auth';
import type { ApiLimits } from './hardening';

/** What the HTTP API is built from (`buildApp(deps)`), each with its default. */
export interface ApiDeps {
  pool: Pool;
  temporal: Client;
  taskQueue: string;
  /** Saga settings passed to every new order. */
  orders: {
    approvalThresholdCents: number;
    approvalTimeout: string;
    /** Per-step deadline overrides for new orders (step name → duration). Default: the saga table's. */
    stepDeadlines?: OrderSagaInput['stepDeadlines'];
  };
  /** Return saga settings: how long a return waits for the goods. Default 14 days. */
  returns?: { goodsTimeout: string };
  /** How long POST /orders/:id/cancel (and a return's cancel) waits for compensation before answering 202. Default 10 s. */
  cancelWaitMs?: number;
  logger?: Logger;
  /** Consumers whose dead letters can be replayed from here. Default: all of the project's. */
  consumers?: readonly ConsumerDefinition[];
  /** The delivery transport, for the relay figures on /metrics and /health. Default postgres. */
  transport?: TransportKind;
  /** Metrics registry shared with in-process delivery (its counters). Default: a new one. */
  registry?: Registry;
  /** Rate limit, load shedding, JSON depth (see ApiLimits for the defaults). */
  limits?: ApiLimits;
  /** Who may call: none configured means an open API (keep it on loopback). */
  apiKeys?: readonly ApiKey[];
  /** X-Forwarded-For from these proxies names the client (fastify `trustProxy`). Default false. */
  trustProxy?: boolean | string;
  /** More Prometheus text for GET /metrics (the SDK's worker metrics in `npm start`). Default none. */
  extraMetrics?: () => Promise<string>;
  /** The Temporal Web UI, for links to workflows (the console, an order's story). Default none. */
  temporalUi?: { url: string; namespace: string };
  /** Whether the process drains after SIGTERM: /health/ready then answers 503. Default never. */
  draining?: () => boolean;
}

export type ResolvedApiDeps = ApiDeps & { consumers: readonly ConsumerDefinition[]; transport: TransportKind };
