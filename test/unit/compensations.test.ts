import {
  runCompensations,
  type Compensation,
  type CompensationOutcome,
  type EscalationDecision,
  type EscalationRequest,
} from '../../src/saga/compensations';

/** Yields to the event loop so other pending compensations can interleave. */
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface FakeStepOptions {
  /** Runs that throw before one succeeds. */
  failTimes?: number;
  /** Event-loop turns to wait between 'start:' and 'end:' (no wall-clock sleeps). */
  delayTicks?: number;
}

/**
 * A compensation whose `run` records `start:<name>` and `end:<name>` (or `fail:<name>`)
 * into the shared log, failing `failTimes` times before it succeeds.
 */
function fakeStep(log: string[], name: string, { failTimes = 0, delayTicks = 0 }: FakeStepOptions = {}) {
  let runs = 0;
  const compensation: Compensation & { runs: () => number; errors: Error[] } = {
    step: name,
    errors: [],
    runs: () => runs,
    run: async () => {
      runs++;
      log.push(`start:${name}`);
      for (let i = 0; i < delayTicks; i++) await tick();
      if (runs <= failTimes) {
        const error = new Error(`${name} failed (run ${runs})`);
        compensation.errors.push(error);
        log.push(`fail:${name}`);
        throw error;
      }
      log.push(`end:${name}`);
    },
  };
  return compensation;
}

/** An escalate that records its requests (and into the log) and answers from a script. */
function scriptedEscalate(log: string[], decisions: EscalationDecision[]) {
  const requests: EscalationRequest[] = [];
  const escalate = jest.fn(async (request: EscalationRequest): Promise<EscalationDecision> => {
    requests.push(request);
    log.push(`escalate:${request.step}:${request.attempt}`);
    await tick();
    const decision = decisions.shift();
    if (!decision) throw new Error(`unexpected escalation for ${request.step} (attempt ${request.attempt})`);
    return decision;
  });
  return { escalate, requests };
}

const neverEscalate = () =>
  jest.fn(async (request: EscalationRequest): Promise<EscalationDecision> => {
    throw new Error(`unexpected escalation for ${request.step}`);
  });

describe('runCompensations', () => {
  it('runs compensations last-in-first-out by default', async () => {
    const log: string[] = [];
    const escalate = neverEscalate();
    const steps = [fakeStep(log, 'a'), fakeStep(log, 'b', { delayTicks: 2 }), fakeStep(log, 'c', { delayTicks: 1 })];

    const outcomes = await runCompensations(steps, { escalate });

    expect(log).toEqual(['start:c', 'end:c', 'start:b', 'end:b', 'start:a', 'end:a']);
    expect(outcomes).toEqual<CompensationOutcome[]>([
      { step: 'c', status: 'compensated', attempts: 1 },
      { step: 'b', status: 'compensated', attempts: 1 },
      { step: 'a', status: 'compensated', attempts: 1 },
    ]);
    expect(escalate).not.toHaveBeenCalled();
  });

  it('does not mutate the registered list when reversing it', async () => {
    const log: string[] = [];
    const steps = [fakeStep(log, 'a'), fakeStep(log, 'b')];
    const registered = [...steps];

    await runCompensations(steps, { escalate: neverEscalate() });

    expect(steps).toEqual(registered);
  });

  it('in parallel mode starts every compensation before any finishes', async () => {
    const log: string[] = [];
    const escalate = neverEscalate();
    const steps = [
      fakeStep(log, 'a', { delayTicks: 3 }),
      fakeStep(log, 'b', { delayTicks: 1 }),
      fakeStep(log, 'c', { delayTicks: 2 }),
    ];

    const outcomes = await runCompensations(steps, { parallel: true, escalate });

    expect(log).toEqual(['start:a', 'start:b', 'start:c', 'end:b', 'end:c', 'end:a']);
    const firstEnd = log.findIndex((entry) => entry.startsWith('end:'));
    const lastStart = log.map((entry) => entry.startsWith('start:')).lastIndexOf(true);
    expect(lastStart).toBeLessThan(firstEnd);
    // One outcome per compensation (in registration order, as Promise.all keeps it).
    expect(outcomes).toEqual<CompensationOutcome[]>([
      { step: 'a', status: 'compensated', attempts: 1 },
      { step: 'b', status: 'compensated', attempts: 1 },
      { step: 'c', status: 'compensated', attempts: 1 },
    ]);
    expect(escalate).not.toHaveBeenCalled();
  });

  it('in parallel mode all compensations are running at once (barrier)', async () => {
    const log: string[] = [];
    let arrived = 0;
    let release!: () => void;
    const barrier = new Promise<void>((resolve) => (release = resolve));
    const barrierStep = (name: string): Compensation => ({
      step: name,
      run: async () => {
        log.push(`start:${name}`);
        if (++arrived === 3) release();
        // Would deadlock (test timeout) if compensations ran one at a time.
        await barrier;
        log.push(`end:${name}`);
      },
    });

    const outcomes = await runCompensations([barrierStep('a'), barrierStep('b'), barrierStep('c')], {
      parallel: true,
      escalate: neverEscalate(),
    });

    expect(log.slice(0, 3).sort()).toEqual(['start:a', 'start:b', 'start:c']);
    expect(log.slice(3).sort()).toEqual(['end:a', 'end:b', 'end:c']);
    expect(outcomes.map((o) => o.step)).toEqual(['a', 'b', 'c']);
  });

  it('escalates each failure with its attempt and error, retries, and only then moves on', async () => {
    const log: string[] = [];
    const { escalate, requests } = scriptedEscalate(log, ['retry', 'retry']);
    const a = fakeStep(log, 'a');
    const b = fakeStep(log, 'b', { failTimes: 2 });
    const c = fakeStep(log, 'c');

    const outcomes = await runCompensations([a, b, c], { escalate });

    expect(escalate).toHaveBeenCalledTimes(2);
    expect(requests).toEqual([
      { step: 'b', attempt: 1, error: b.errors[0] },
      { step: 'b', attempt: 2, error: b.errors[1] },
    ]);
    expect(requests[0]?.error).toBe(b.errors[0]);
    expect(requests[1]?.error).toBe(b.errors[1]);
    expect((requests[1]?.error as Error).message).toBe('b failed (run 2)');
    expect(b.runs()).toBe(3);
    expect(log).toEqual([
      'start:c',
      'end:c',
      'start:b',
      'fail:b',
      'escalate:b:1',
      'start:b',
      'fail:b',
      'escalate:b:2',
      'start:b',
      'end:b',
      'start:a',
      'end:a',
    ]);
    expect(outcomes).toEqual<CompensationOutcome[]>([
      { step: 'c', status: 'compensated', attempts: 1 },
      { step: 'b', status: 'compensated', attempts: 3 },
      { step: 'a', status: 'compensated', attempts: 1 },
    ]);
  });

  it("on 'resolved' marks the step resolved-manually, does not run it again, and carries on", async () => {
    const log: string[] = [];
    const { escalate, requests } = scriptedEscalate(log, ['resolved']);
    const a = fakeStep(log, 'a');
    const b = fakeStep(log, 'b', { failTimes: 5 });
    const c = fakeStep(log, 'c');

    const outcomes = await runCompensations([a, b, c], { escalate });

    expect(b.runs()).toBe(1);
    expect(requests).toEqual([{ step: 'b', attempt: 1, error: b.errors[0] }]);
    expect(log).toEqual(['start:c', 'end:c', 'start:b', 'fail:b', 'escalate:b:1', 'start:a', 'end:a']);
    expect(outcomes).toEqual<CompensationOutcome[]>([
      { step: 'c', status: 'compensated', attempts: 1 },
      { step: 'b', status: 'resolved-manually', attempts: 1 },
      { step: 'a', status: 'compensated', attempts: 1 },
    ]);
  });

  it("counts the failed runs before 'resolved' in attempts", async () => {
    const log: string[] = [];
    const { escalate } = scriptedEscalate(log, ['retry', 'resolved']);
    const b = fakeStep(log, 'b', { failTimes: 5 });

    const outcomes = await runCompensations([b], { escalate });

    expect(b.runs()).toBe(2);
    expect(outcomes).toEqual<CompensationOutcome[]>([{ step: 'b', status: 'resolved-manually', attempts: 2 }]);
  });

  it('never swallows a failure: if escalate rejects, runCompensations rejects with that error', async () => {
    const log: string[] = [];
    const boom = new Error('operator channel down');
    const escalate = jest.fn(async (): Promise<EscalationDecision> => {
      throw boom;
    });
    const onOutcome = jest.fn();
    const a = fakeStep(log, 'a');
    const b = fakeStep(log, 'b', { failTimes: 1 });

    await expect(runCompensations([a, b], { escalate, onOutcome })).rejects.toBe(boom);

    expect(escalate).toHaveBeenCalledTimes(1);
    expect(escalate).toHaveBeenCalledWith({ step: 'b', attempt: 1, error: b.errors[0] });
    // b is not reported as done, and (sequentially) nothing after it ran.
    expect(onOutcome).not.toHaveBeenCalled();
    expect(log).toEqual(['start:b', 'fail:b']);
  });

  it('in parallel mode also rejects with the escalation error', async () => {
    const log: string[] = [];
    const boom = new Error('operator channel down');
    const escalate = jest.fn(async (): Promise<EscalationDecision> => {
      throw boom;
    });

    await expect(
      runCompensations([fakeStep(log, 'a'), fakeStep(log, 'b', { failTimes: 1 })], { parallel: true, escalate }),
    ).rejects.toBe(boom);
    expect(escalate).toHaveBeenCalledTimes(1);
  });

  it('calls onOutcome once per compensation, in completion order (sequential)', async () => {
    const log: string[] = [];
    // LIFO: b escalates first (resolved), then a (retry).
    const { escalate } = scriptedEscalate(log, ['resolved', 'retry']);
    const seen: CompensationOutcome[] = [];
    const onOutcome = jest.fn((outcome: CompensationOutcome) => {
      seen.push(outcome);
      log.push(`outcome:${outcome.step}`);
    });
    const steps = [fakeStep(log, 'a', { failTimes: 1 }), fakeStep(log, 'b', { failTimes: 9 }), fakeStep(log, 'c')];

    const outcomes = await runCompensations(steps, { escalate, onOutcome });

    expect(onOutcome).toHaveBeenCalledTimes(3);
    expect(seen).toEqual<CompensationOutcome[]>([
      { step: 'c', status: 'compensated', attempts: 1 },
      { step: 'b', status: 'resolved-manually', attempts: 1 },
      { step: 'a', status: 'compensated', attempts: 2 },
    ]);
    expect(seen).toEqual(outcomes);
    // Each outcome is reported as soon as its compensation finished, before the next one starts.
    expect(log.filter((entry) => /^(outcome|start):/.test(entry))).toEqual([
      'start:c',
      'outcome:c',
      'start:b',
      'outcome:b',
      'start:a',
      'start:a',
      'outcome:a',
    ]);
  });

  it('calls onOutcome in completion order, not registration order (parallel)', async () => {
    const log: string[] = [];
    const seen: string[] = [];
    const onOutcome = jest.fn((outcome: CompensationOutcome) => seen.push(outcome.step));
    const steps = [
      fakeStep(log, 'a', { delayTicks: 3 }),
      fakeStep(log, 'b', { delayTicks: 1 }),
      fakeStep(log, 'c', { delayTicks: 2 }),
    ];

    const outcomes = await runCompensations(steps, { parallel: true, escalate: neverEscalate(), onOutcome });

    expect(onOutcome).toHaveBeenCalledTimes(3);
    expect(seen).toEqual(['b', 'c', 'a']);
    expect(outcomes.map((o) => o.step)).toEqual(['a', 'b', 'c']);
  });

  it('returns [] for no compensations without escalating or reporting', async () => {
    const escalate = neverEscalate();
    const onOutcome = jest.fn();

    await expect(runCompensations([], { escalate, onOutcome })).resolves.toEqual([]);
    await expect(runCompensations([], { parallel: true, escalate, onOutcome })).resolves.toEqual([]);

    expect(escalate).not.toHaveBeenCalled();
    expect(onOutcome).not.toHaveBeenCalled();
  });
});
