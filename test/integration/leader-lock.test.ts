import { randomBytes } from 'node:crypto';
import { AdvisoryLock, type SilentHolder, type TakeoverOptions } from '../../src/delivery/leader-lock';
import { pause } from '../../src/util/pause';
import { waitFor } from '../../src/util/wait';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

// The leader lock's takeover from a holder that hangs: its connection, and so its lock, stay
// open. A holder that shows it is alive keeps the lock however long contenders try; one whose
// connection goes silent for longer than the takeover allows loses it to the next contender.

let db: TestDatabase;
const locks: AdvisoryLock[] = [];

beforeAll(async () => {
  db = await createTestDatabase({ migrate: false });
});
afterAll(async () => {
  for (const lock of locks) await lock.release();
  await db.drop();
});

/** A lock as the relays take it: standbys keep their connection between tries. */
function lock(name: string, takeover: TakeoverOptions): AdvisoryLock {
  const l = new AdvisoryLock(db.url, name, 'test-holder', 'test-standby', takeover);
  locks.push(l);
  return l;
}

test('a holder that has gone silent is taken over: its connection ended, its loss reported, the contender holding', async () => {
  // Heartbeats far apart stand for a frozen holder: its connection sits idle.
  const holder = lock('silent', { afterMs: 60_000, heartbeatMs: 60_000 });
  let lost = false;
  holder.onLost(() => (lost = true));
  expect(await holder.tryAcquire()).toBe(true);

  const taken: SilentHolder[] = [];
  const contender = lock('silent', { afterMs: 300, onTakeover: (h) => taken.push(h) });
  await waitFor(() => contender.tryAcquire(), { timeoutMs: 10_000, intervalMs: 100, description: 'the takeover' });
  expect(taken).toEqual([{ pid: expect.any(Number), silentSeconds: expect.any(Number), ended: true }]);
  expect(taken[0]!.silentSeconds).toBeGreaterThanOrEqual(0.3);
  await waitFor(() => lost, { timeoutMs: 10_000, description: 'the silent holder to learn it lost the lock' });
  expect(holder.held).toBe(false);
  expect(await holder.tryAcquire()).toBe(false);
});

test('a holder that shows it is alive keeps its lock, however long a contender tries', async () => {
  const holder = lock('alive', { afterMs: 300 });
  expect(await holder.tryAcquire()).toBe(true);
  const taken: SilentHolder[] = [];
  const contender = lock('alive', { afterMs: 300, onTakeover: (h) => taken.push(h) });
  // Five times the silence the takeover allows, a try every 50 ms.
  const until = Date.now() + 1500;
  let tries = 0;
  while (Date.now() < until) {
    expect(await contender.tryAcquire()).toBe(false);
    tries++;
    await pause(50);
  }
  expect(tries).toBeGreaterThan(5);
  expect(taken).toEqual([]);
  expect(holder.held).toBe(true);
});

test('a contender of another database role says once why it cannot take over, and takes over once it may', async () => {
  // Roles are the server's, not the database's: names of this run's own, dropped after.
  const suffix = randomBytes(4).toString('hex');
  const roles = { holder: `saga_test_holder_${suffix}`, contender: `saga_test_contender_${suffix}` };
  const as = (role: string) => {
    const url = new URL(db.url);
    url.username = role;
    url.password = 'pw';
    return url.toString();
  };
  for (const role of Object.values(roles)) await db.pool.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw'`);
  const mine: AdvisoryLock[] = [];
  try {
    const holder = new AdvisoryLock(as(roles.holder), 'roles', 'test-holder', 'test-standby', {
      afterMs: 60_000,
      heartbeatMs: 60_000,
    });
    mine.push(holder);
    expect(await holder.tryAcquire()).toBe(true);
    const taken: SilentHolder[] = [];
    const contender = new AdvisoryLock(as(roles.contender), 'roles', 'test-holder', 'test-standby', {
      afterMs: 300,
      onTakeover: (h) => taken.push(h),
    });
    mine.push(contender);

    // It cannot see whether the holder is alive: said once, however often it tries.
    for (let i = 0; i < 3; i++) expect(await contender.tryAcquire()).toBe(false);
    expect(taken).toEqual([
      { pid: expect.any(Number), silentSeconds: null, ended: false, error: expect.stringMatching(/not visible/) },
    ]);

    // It sees the holder silent, but may not end another role's session: said once too.
    await db.pool.query(`GRANT pg_read_all_stats TO ${roles.contender}`);
    await waitFor(async () => !(await contender.tryAcquire()) && taken.length === 2, {
      timeoutMs: 10_000,
      intervalMs: 100,
      description: 'the contender to find the holder silent',
    });
    expect(taken[1]).toEqual({
      pid: taken[0]!.pid,
      silentSeconds: expect.any(Number),
      ended: false,
      error: expect.stringMatching(/permission denied/i),
    });
    for (let i = 0; i < 3; i++) expect(await contender.tryAcquire()).toBe(false);
    expect(taken).toHaveLength(2);

    // Allowed to, it takes over.
    await db.pool.query(`GRANT pg_signal_backend TO ${roles.contender}`);
    await waitFor(() => contender.tryAcquire(), { timeoutMs: 10_000, intervalMs: 100, description: 'the takeover' });
    expect(taken[2]).toMatchObject({ pid: taken[0]!.pid, ended: true });
  } finally {
    for (const lock of mine) await lock.release();
    for (const role of Object.values(roles)) await db.pool.query(`DROP ROLE IF EXISTS ${role}`);
  }
});
