import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../app';

type Check = { status: 'up' } | { status: 'down'; error: string };

async function probe(fn: () => Promise<unknown>, timeoutMs = 2000): Promise<Check> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { status: 'up' };
  } catch (err) {
    return { status: 'down', error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

export function healthRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/health', async (_request, reply) => {
    const [postgres, temporal] = await Promise.all([
      probe(() => deps.pool.query('SELECT 1')),
      probe(() => deps.temporal.workflowService.getSystemInfo({})),
    ]);
    const up = postgres.status === 'up' && temporal.status === 'up';
    return reply.status(up ? 200 : 503).send({ status: up ? 'ok' : 'degraded', checks: { postgres, temporal } });
  });
}
