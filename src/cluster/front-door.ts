import net from 'node:net';

export interface FrontDoorOptions {
  port: number;
  host: string;
  /** The replicas' ports on 127.0.0.1. */
  backends: number[];
}

export interface FrontDoor {
  url: string;
  close(): Promise<void>;
}

/**
 * One port in front of the API replicas, as a load balancer would be: each connection goes
 * to the next replica in turn, and to the one after when a replica refuses (stopped,
 * restarting). A TCP relay, so HTTP keep-alive, bodies and headers pass untouched; a
 * connection to a replica that dies is reset, and clients retry (POST /orders with its
 * Idempotency-Key is safe to retry).
 */
export async function startFrontDoor(options: FrontDoorOptions): Promise<FrontDoor> {
  let turn = 0;
  const open = new Set<net.Socket>();
  const connect = (client: net.Socket, tried: number) => {
    if (tried >= options.backends.length) return void client.destroy();
    const port = options.backends[turn++ % options.backends.length]!;
    const upstream = net.connect({ port, host: '127.0.0.1' });
    open.add(upstream);
    upstream.once('close', () => open.delete(upstream));
    const refused = () => {
      upstream.destroy();
      if (!client.destroyed) connect(client, tried + 1);
    };
    upstream.once('error', refused);
    upstream.once('connect', () => {
      upstream.off('error', refused);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      client.pipe(upstream).pipe(client);
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
      client.resume();
    });
  };
  const server = net.createServer({ pauseOnConnect: true }, (client) => {
    open.add(client);
    client.once('close', () => open.delete(client));
    client.on('error', () => undefined);
    connect(client, 0);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: options.port, host: options.host }, () => resolve());
  });
  const shown = options.host === '0.0.0.0' ? 'localhost' : options.host;
  return {
    url: `http://${shown}:${options.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
