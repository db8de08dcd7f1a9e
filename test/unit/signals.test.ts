import { drainRole, DrainTimeoutError, type DrainOptions } from '../../src/processes/signals';

// The shutdown sequence every role shares: not ready first, the delay, the drain, its bound.

function role(overrides: Partial<DrainOptions> = {}) {
  const steps: string[] = [];
  const logged: { level: 'info' | 'error'; msg: string }[] = [];
  const logger = {
    info: (_fields: object, msg: string) => logged.push({ level: 'info', msg }),
    error: (_fields: object, msg: string) => logged.push({ level: 'error', msg }),
  } as unknown as DrainOptions['logger'];
  const options: DrainOptions = {
    role: 'test',
    logger,
    delayMs: 0,
    markDraining: () => steps.push('not ready'),
    drain: async () => {
      steps.push('drain');
    },
    ...overrides,
  };
  return { steps, logged, options };
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

describe('drainRole', () => {
  it('turns readiness off at once, keeps working for the delay, then drains', async () => {
    const { steps, logged, options } = role({ delayMs: 1500 });
    let done = false;
    const draining = drainRole('SIGTERM', options).then(() => (done = true));
    expect(steps).toEqual(['not ready']);
    expect(logged[0]?.msg).toMatch(/503; still working for 1500 ms \(SHUTDOWN_DELAY\)/);
    await jest.advanceTimersByTimeAsync(1499);
    expect(steps).toEqual(['not ready']);
    await jest.advanceTimersByTimeAsync(1);
    await draining;
    expect(steps).toEqual(['not ready', 'drain']);
    expect(done).toBe(true);
    expect(logged.map((l) => l.msg).slice(1)).toEqual(['stopping: finishing the work in flight', 'stopped']);
  });

  it('drains at once without a delay', async () => {
    const { steps, options } = role();
    await drainRole('SIGINT', options);
    expect(steps).toEqual(['not ready', 'drain']);
  });

  it('gives up on a drain that hangs after its limit, saying so', async () => {
    const { logged, options } = role({ drain: () => new Promise(() => undefined), limitMs: 20_000 });
    const draining = drainRole('SIGTERM', options);
    const outcome = draining.then(
      () => 'drained',
      (err: unknown) => err,
    );
    await jest.advanceTimersByTimeAsync(19_999);
    expect(logged.filter((l) => l.level === 'error')).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    const err = await outcome;
    expect(err).toBeInstanceOf(DrainTimeoutError);
    expect((err as Error).message).toBe(
      'saga test: the drain did not finish within 20 s; exiting 1 with work possibly unfinished',
    );
    expect(logged.filter((l) => l.level === 'error').map((l) => l.msg)).toEqual([(err as Error).message]);
  });

  it('passes a failed drain on (the process exits 1)', async () => {
    const { options } = role({ drain: () => Promise.reject(new Error('broker gone')) });
    await expect(drainRole('SIGTERM', options)).rejects.toThrow('broker gone');
  });
});
