import { NativeConnection } from '@temporalio/worker';
import { explore, type ExploreReport } from '../../src/explore/explore';
import { formatMatrix } from '../../src/explore/matrix';
import { FAULT_KINDS, quickScenarios, scenariosOf } from '../../src/explore/scenarios';
import { ORDER_TARGET, RETURN_TARGET } from '../../src/explore/targets';
import { seedCatalog } from '../../src/store/catalog';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { testEnv } from '../helpers/env';
import { connectTestTemporal, installQuietRuntime, type TestTemporal } from '../helpers/temporal';

// The failure-point explorer's small run on the real stack: one scenario of every fault kind of
// the order saga, each checked against the invariants every saga keeps. (`saga explore
// orderSaga` runs the full matrix.)

let db: TestDatabase;
let temporal: TestTemporal;
let connection: NativeConnection;
let report: ExploreReport;
let returns: ExploreReport;

beforeAll(async () => {
  // Activity failures are what the explorer injects: the worker's warnings about them are noise.
  installQuietRuntime('ERROR');
  db = await createTestDatabase();
  await seedCatalog(db.pool);
  temporal = await connectTestTemporal();
  connection = await NativeConnection.connect({ address: testEnv('temporalAddress') });
  report = await explore({
    pool: db.pool,
    client: temporal.client,
    connection,
    namespace: 'default',
    target: ORDER_TARGET,
    scenarios: quickScenarios(scenariosOf(ORDER_TARGET.saga)),
    workflowBundle: testEnv('workflowBundle'),
  });
  // The return saga: one of each kind, and a business error past its point of no return.
  const returnScenarios = scenariosOf(RETURN_TARGET.saga);
  returns = await explore({
    pool: db.pool,
    client: temporal.client,
    connection,
    namespace: 'default',
    target: RETURN_TARGET,
    scenarios: [
      ...quickScenarios(returnScenarios),
      returnScenarios.find((s) => s.id === 'business-failure:refundReturn')!,
    ],
    workflowBundle: testEnv('workflowBundle'),
  });
}, 360_000);
afterAll(async () => {
  await connection?.close();
  await temporal?.close();
  await db?.drop();
});

test.each([
  ['orderSaga', () => report],
  ['returnSaga', () => returns],
])('%s: covers every fault kind, and every invariant holds in each', (_name, reportOf) => {
  const report = reportOf();
  const matrix = formatMatrix(report);
  expect([...new Set(report.results.map((r) => r.scenario.kind))].sort()).toEqual([...FAULT_KINDS].sort());
  const failed = report.results.flatMap((r) =>
    r.checks.filter((c) => !c.ok).map((c) => `${r.scenario.id}: ${c.name}: ${c.detail}`),
  );
  expect({ failed, matrix }).toEqual({ failed: [], matrix });
});

test('each fault took the saga where its table says', () => {
  const outcome = (id: string) => report.results.find((r) => r.scenario.id === id)?.outcome;
  // The first step failing: the order was never created, and still ends with its event.
  expect(outcome('business-failure:createOrder')).toBe('CANCELLED ExploredFailure @createOrder');
  expect(outcome('deadline:createOrder')).toBe('CANCELLED step_deadline_exceeded @createOrder');
  // A lost report is retried; the step's commit is found and the order confirms.
  expect(outcome('lost-report:createOrder')).toBe('CONFIRMED');
  // An escalated capture, retried by an operator once the outage is over.
  expect(outcome('deadline-escalated-retried:capturePayment')).toBe('CONFIRMED');
  expect(outcome('deadline-escalated-abandoned:capturePayment')).toBe(
    'CANCELLED step_deadline_exceeded @capturePayment',
  );
  // Releasing the stock fails twice, or until an operator retries it: compensated either way.
  expect(outcome('compensation-flaky:reserveInventory')).toBe('CANCELLED ExploredFailure @authorizePayment');
  expect(outcome('compensation-stuck-retried:reserveInventory')).toBe('CANCELLED ExploredFailure @authorizePayment');
  expect(outcome('cancel:createOrder')).toBe('CANCELLED explored_cancel @reserveInventory (cancel accepted)');
});

test('past the return’s point of no return, failures wait for an operator and abandoning is refused', () => {
  const outcome = (id: string) => returns.results.find((r) => r.scenario.id === id)?.outcome;
  // Its first step failing: the return was never opened, and still ends with its event.
  expect(outcome('business-failure:openReturn')).toBe('CANCELLED ExploredFailure @openReturn');
  expect(outcome('business-failure:refundReturn')).toBe('COMPLETED');
  expect(outcome('deadline-escalated-retried:refundReturn')).toBe('COMPLETED');
  expect(outcome('deadline-escalated-abandoned:refundReturn')).toBe('COMPLETED (abandon refused)');
});
