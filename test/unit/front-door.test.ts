import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startFrontDoor } from '../../src/cluster/front-door';
import { freePort } from '../../src/util/free-port';

// The front door of `saga cluster up`: real sockets on loopback, two tiny HTTP backends.

const servers: Server[] = [];
async function backend(name: string): Promise<number> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => res.end(`${name}:${req.headers['x-correlation-id'] ?? ''}:${body}`));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}
afterAll(() => servers.forEach((s) => s.close()));

const call = async (url: string) =>
  (
    await fetch(url, {
      method: 'POST',
      body: 'payload',
      headers: { 'x-correlation-id': 'c-1', connection: 'close' },
    })
  ).text();

test('sends connections to the replicas in turn, headers and bodies intact, and skips one that refuses', async () => {
  const a = await backend('a');
  const b = await backend('b');
  const gone = await freePort(); // nothing listens here: a replica that is down
  const door = await startFrontDoor({ port: await freePort(), host: '127.0.0.1', backends: [a, gone, b] });
  try {
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await call(door.url));
    expect(answers.every((x) => /^[ab]:c-1:payload$/.test(x))).toBe(true);
    expect(new Set(answers.map((x) => x[0]))).toEqual(new Set(['a', 'b']));
  } finally {
    await door.close();
  }
});

test('refuses (resets) a connection when no replica is up', async () => {
  const door = await startFrontDoor({ port: await freePort(), host: '127.0.0.1', backends: [await freePort()] });
  try {
    await expect(fetch(door.url)).rejects.toThrow();
  } finally {
    await door.close();
  }
});
