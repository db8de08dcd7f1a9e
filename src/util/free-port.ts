import net from 'node:net';

/** Asks the OS for a currently free TCP port on `host`. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** True when something accepts TCP connections at host:port within `timeoutMs`. */
export function isReachable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * The first of `size` consecutive ports that nothing answers on, between `low` and `high`
 * (for a topology that numbers its ports upwards from a base). Default range 20000–32000:
 * below 32768, as the Temporal server needs, and below the OS's ephemeral ports.
 */
export async function freePortBlock(size: number, low = 20_000, high = 32_000): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const base = low + Math.floor(Math.random() * (high - low - size));
    const busy = await Promise.all(Array.from({ length: size }, (_, i) => isReachable('127.0.0.1', base + i, 200)));
    if (!busy.some(Boolean)) return base;
  }
  throw new Error(`no block of ${size} free ports between ${low} and ${high}`);
}
