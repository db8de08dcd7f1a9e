import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app';
import type { ApiKey } from '../../src/identities';
import type { Pool } from '../../src/store/pool';
import { testEnv } from './env';

/**
 * The API on the port the suite's Temporal UI asks to decode payloads (its codec endpoint,
 * set by the global setup), with this client's keys; close it when done (test files run one
 * at a time, so one owns the port at once). `apiKeys`: none, an open API that decodes for anyone.
 */
export async function startTestCodecServer(
  client: Client,
  pool: Pool,
  apiKeys: readonly ApiKey[] = [],
): Promise<FastifyInstance> {
  const app = buildApp({
    pool,
    temporal: client,
    taskQueue: 'codec',
    orders: { approvalThresholdCents: 100_000, approvalTimeout: '1h' },
    apiKeys,
    temporalUi: { url: testEnv('temporalUiUrl'), namespace: 'default' },
    limits: { rateLimitPerMinute: false },
  });
  await app.listen({ port: Number(testEnv('codecPort')), host: '127.0.0.1' });
  return app;
}
