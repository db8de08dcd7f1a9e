import type { Client } from '@temporalio/client';
import type { Registry } from 'prom-client';
import type { ApiDeps } from '../api/deps';
import type { Logger } from '../logger';
import type { Pool } from '../store/pool';
import type { Config } from './config';
import { registeredConsumers } from './plugins';

/** What a process has at hand when it builds the API; the rest comes from the configuration. */
export interface ApiParts {
  pool: Pool;
  temporal: Client;
  logger: Logger;
  /** The process's metrics registry (default: the API's own). */
  registry?: Registry;
  extraMetrics?: ApiDeps['extraMetrics'];
  /** While true, /health/ready answers 503 (after SIGTERM). */
  draining?: () => boolean;
  /** The Temporal Web UI's address when the process knows it better than TEMPORAL_UI_URL (a dev server's). */
  temporalUiUrl?: string;
}

/** The one mapping of configuration to the API's dependencies (`saga api`, `saga dev`). */
export function apiDepsOf(config: Config, parts: ApiParts): ApiDeps {
  const uiUrl = parts.temporalUiUrl ?? config.temporal.uiUrl;
  return {
    pool: parts.pool,
    temporal: parts.temporal,
    logger: parts.logger,
    taskQueue: config.temporal.taskQueue,
    orders: config.orders,
    returns: config.returns,
    transport: config.transport,
    consumers: registeredConsumers(),
    limits: { rateLimitPerMinute: config.api.rateLimitPerMinute },
    apiKeys: config.api.apiKeys,
    trustProxy: config.api.trustProxy,
    ...(parts.registry ? { registry: parts.registry } : {}),
    ...(parts.extraMetrics ? { extraMetrics: parts.extraMetrics } : {}),
    ...(parts.draining ? { draining: parts.draining } : {}),
    temporalUi: uiUrl ? { url: uiUrl, namespace: config.temporal.namespace } : undefined,
  };
}
