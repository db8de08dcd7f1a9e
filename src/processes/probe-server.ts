import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface ProbeServerOptions {
  port: number;
  /** Default 0.0.0.0: an orchestrator probes from outside the process's network namespace. */
  host?: string;
  /** Whether the role takes work now (false while starting and while draining). */
  ready: () => boolean;
  /** Served as Prometheus text on /metrics when given. */
  registry?: Registry;
  /** More Prometheus text appended to /metrics (the Temporal SDK's own worker metrics). */
  extraMetrics?: () => Promise<string>;
}

export interface ProbeServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Liveness and readiness for the roles without an HTTP API of their own (`saga worker`,
 * `saga relay`, `saga consume`): `GET /health/live` answers 200 while the process serves
 * requests at all; `GET /health/ready` answers 200 only while the role takes work, and 503
 * while it starts or drains after SIGTERM, so an orchestrator stops routing to it first.
 */
export async function startProbeServer(options: ProbeServerOptions): Promise<ProbeServer> {
  let closing = false;
  const server: Server = createServer((request, response) => {
    const send = (status: number, body: string, type = 'application/json') => {
      // Once closing, no connection is kept alive: an idle one would hold the close (and the exit) open.
      response.writeHead(status, { 'content-type': type, ...(closing ? { connection: 'close' } : {}) });
      response.end(body);
    };
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET') return send(405, JSON.stringify({ status: 'method not allowed' }));
    if (path === '/health/live') return send(200, JSON.stringify({ status: 'live' }));
    if (path === '/health/ready') {
      const ready = options.ready();
      return send(ready ? 200 : 503, JSON.stringify({ status: ready ? 'ready' : 'not ready' }));
    }
    if (path === '/metrics' && options.registry) {
      Promise.all([options.registry.metrics(), options.extraMetrics?.().catch(() => '') ?? ''])
        .then(([ours, sdk]) => (sdk ? `${ours}\n${sdk}` : ours))
        .then(
          (text) => send(200, text, options.registry!.contentType),
          () => send(500, JSON.stringify({ status: 'metrics failed' })),
        );
      return;
    }
    send(404, JSON.stringify({ status: 'not found' }));
  });
  const host = options.host ?? '0.0.0.0';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => resolve());
  });
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${options.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        server.close(() => resolve());
      }),
  };
}
