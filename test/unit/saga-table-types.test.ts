import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { typeErrors } from '../helpers/typecheck';

// Typed step tables: with the activities' type, a step's input must be what its activity
// takes (besides the command fields) and `after` gets what it returns. Each case is compiled
// with the project's settings; a wrong table must not compile, and say why.

const ROOT = path.resolve(__dirname, '../..');
const DIR = path.join(ROOT, '.tmp', `saga-table-types-${process.pid}`);

const HEADER = `
import { defineSaga } from '${path.relative(DIR, path.join(ROOT, 'src/workflow'))}';
interface Command { commandId: string; causationId: string; bookingId: string }
const activities = {
  holdRoom: async (c: Command & { nights: number }) => ({ holdId: 'h-' + c.nights }),
  releaseRoom: async (_c: Command) => ({ released: true }),
  chargeCard: async (c: Command & { card: string }) => ({ chargeId: c.card }),
  cancelBooking: async (c: Command & { reason: string }) => ({ reason: c.reason }),
};
type BookingActivities = typeof activities;
interface Input { bookingId: string; nights: number; card: string }
`;

/** A table with these steps and this stop input, against the activities above. */
const saga = (steps: string, onStopInput = '(_ctx, stop) => ({ reason: stop.reason })') => `${HEADER}
export const SAGA = defineSaga<Input, { holdId: string | null }, BookingActivities, { bookingId: string }>({
  name: 'booking',
  description: 'typed',
  commandFields: (input) => ({ bookingId: input.bookingId }),
  causationOf: () => 'c',
  steps: [${steps}],
  onStop: { activity: 'cancelBooking', describe: 'always', summary: () => 'cancel', input: ${onStopInput} },
});
`;

const GOOD_STEPS = `
    {
      name: 'hold',
      activity: 'holdRoom',
      summary: 'Hold',
      input: ({ input }) => ({ nights: input.nights }),
      compensation: { activity: 'releaseRoom', summary: 'Release' },
      after: ({ state }, result) => { state.holdId = result.holdId; },
    },
    { name: 'charge', activity: 'chargeCard', summary: 'Charge', input: ({ input }) => ({ card: input.card }) },`;

function errorsOf(source: string): string[] {
  const file = path.join(DIR, `case-${Math.random().toString(36).slice(2)}.ts`);
  writeFileSync(file, source);
  return typeErrors([file], file);
}

beforeAll(() => mkdirSync(DIR, { recursive: true }));
afterAll(() => rmSync(DIR, { recursive: true, force: true }));

describe('typed saga tables', () => {
  it('compiles a table whose inputs and results match its activities, with no cast', () => {
    expect(errorsOf(saga(GOOD_STEPS))).toEqual([]);
  }, 60_000);

  it('refuses an input of the wrong type', () => {
    const steps = GOOD_STEPS.replace('({ nights: input.nights })', "({ nights: 'two' })");
    expect(errorsOf(saga(steps)).join('\n')).toMatch(/'string' is not assignable to type 'number'/);
  }, 60_000);

  it('refuses a step that leaves out a field its activity needs', () => {
    const steps = GOOD_STEPS.replace(', input: ({ input }) => ({ card: input.card })', '');
    expect(errorsOf(saga(steps)).join('\n')).toMatch(/Property 'input' is missing/);
  }, 60_000);

  it("types `after` by the activity's result", () => {
    const steps = GOOD_STEPS.replace('state.holdId = result.holdId;', 'state.holdId = result.chargeId;');
    expect(errorsOf(saga(steps)).join('\n')).toMatch(/Property 'chargeId' does not exist/);
  }, 60_000);

  it('refuses an activity the worker does not have, and a wrong stop input', () => {
    expect(errorsOf(saga(GOOD_STEPS.replace("activity: 'releaseRoom'", "activity: 'freeRoom'"))).join('\n')).toMatch(
      /freeRoom/,
    );
    expect(errorsOf(saga(GOOD_STEPS, '(_ctx, stop) => ({ why: stop.reason })')).join('\n')).toMatch(
      /'why' does not exist|'reason' is missing/,
    );
  }, 60_000);
});
