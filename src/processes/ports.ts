import net from 'node:net';

/** A port the system needs is taken by another program. */
export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
}

async function isFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Fails with one message naming every busy port and the variable that moves it. */
export async function assertPortsFree(ports: { port: number; host: string; variable: string; what: string }[]) {
  const busy: string[] = [];
  for (const p of ports) {
    if (!(await isFree(p.port, p.host)))
      busy.push(`  ${p.what}: port ${p.port} is in use (set ${p.variable} to use another)`);
  }
  if (busy.length) throw new PortInUseError(`Cannot start, ports are taken:\n${busy.join('\n')}`);
}
