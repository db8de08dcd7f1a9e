import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import type { Browser, Page } from 'playwright-core';
import { Registry } from 'prom-client';
import { CHAOS_APPROVAL_THRESHOLD_CENTS, orderBody, type OrderKind, ORDER_KINDS } from '../../chaos/orders';
import { buildApp, type ApiDeps } from '../../src/api/app';
import { CONSUMERS } from '../../src/consumers';
import { defineConsumer } from '../../src/delivery/consumer';
import { startDelivery, type Delivery } from '../../src/delivery/start';
import { TransientError } from '../../src/domain/errors';
import { createLogger } from '../../src/logger';
import type { PaymentGateway } from '../../src/ports/payment-gateway';
import { simulatedActivityDeps } from '../../src/processes/activity-deps';
import { seedCatalog } from '../../src/store/catalog';
import { waitFor } from '../../src/util/wait';
import { describeWithBrowser, launchChromium } from '../helpers/browser';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { testEnv } from '../helpers/env';
import { connectTestTemporal, type TestTemporal } from '../helpers/temporal';

// The operations console in a real browser (Debian's Chromium driven by playwright-core)
// against the real stack: the API serving the console, a Temporal worker, PostgreSQL and the
// project's consumers. Everything is done as an operator would: keys typed in, buttons clicked,
// text read off the page.

const SCREENSHOTS = path.resolve(__dirname, '../../artifacts/screenshots');
const KEYS = {
  operator: { name: 'ops-alice', role: 'operator' as const, key: 'console-test-operator-key' },
  customer: { name: 'shop-frontend', role: 'customer' as const, key: 'console-test-customer-key' },
};

/** Capture outages, switched by the test: the simulator's gateway, unreachable while on. */
let captureDown = false;
function gatewayWithOutage(gateway: PaymentGateway): PaymentGateway {
  return {
    ...gateway,
    capture: async (id) => {
      if (captureDown) throw new TransientError('payment gateway unreachable (capture)');
      return gateway.capture(id);
    },
  };
}

/** A consumer of the test's own with a handler bug for `bulk-` customers while `ledgerBroken`. */
let ledgerBroken = false;
const ledger = defineConsumer({
  name: 'ledger',
  handles: ['order.created', 'order.cancelled'],
  maxAttempts: 2,
  backoff: { initialMs: 10, maxMs: 20 },
  handle: async (event, tx) => {
    if (ledgerBroken && String(event.payload.customerId).startsWith('bulk-')) {
      throw new Error('ledger handler bug: cannot book bulk customers');
    }
    await tx.query('INSERT INTO console_ledger (event_id, stream_id, event_type) VALUES ($1, $2, $3)', [
      event.eventId,
      event.streamId,
      event.eventType,
    ]);
  },
});
const consumers = [...CONSUMERS, ledger];

let db: TestDatabase;
let temporal: TestTemporal;
let delivery: Delivery;
let app: FastifyInstance;
let port: number;
let base: string;
let browser: Browser;
let apiDeps: ApiDeps;

async function startApi(listenPort = 0) {
  // A process starts with metrics of its own (a restarted API here too).
  app = buildApp({ ...apiDeps, registry: new Registry() });
  await app.listen({ port: listenPort, host: '127.0.0.1' });
  port = (app.server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
}

async function api<T = unknown>(
  method: 'GET' | 'POST',
  url: string,
  body?: unknown,
  key = KEYS.operator.key,
): Promise<{ status: number; json: T }> {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: { 'x-api-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as T };
}

async function placeOrder(kind: OrderKind, customerId: string): Promise<string> {
  const res = await api<{ orderId: string }>('POST', '/orders', orderBody(kind, customerId), KEYS.customer.key);
  expect(res.status).toBe(202);
  return res.json.orderId;
}

async function orderStatus(orderId: string): Promise<string | undefined> {
  const res = await api<{ status: string }>('GET', `/orders/${orderId}`);
  return res.status === 200 ? res.json.status : undefined;
}

const waitForStatus = (orderId: string, status: string) =>
  waitFor(async () => (await orderStatus(orderId)) === status, {
    timeoutMs: 60_000,
    description: `order ${orderId} to be ${status} in the read model`,
  });

async function openConsole(key?: string, hash = '#/orders'): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(`${base}/console${hash}`, { waitUntil: 'domcontentloaded' });
  if (key) {
    await page.getByLabel('API key', { exact: true }).fill(key);
    await page.getByRole('button', { name: 'Use key' }).click();
  }
  return page;
}

async function screenshot(page: Page, name: string) {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Runs a browser step; on failure, keeps a screenshot of what the page showed. */
async function onPage<T>(page: Page, name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    await screenshot(page, `console-${name}-failed`).catch(() => undefined);
    throw err;
  }
}

describeWithBrowser('operations console in a real browser', () => {
  const placed = new Map<OrderKind, string>();

  beforeAll(async () => {
    browser = await launchChromium(); // first: with CI=true a missing Chromium fails fast
    db = await createTestDatabase();
    await seedCatalog(db.pool);
    await db.pool.query(`CREATE TABLE console_ledger (
      seq bigserial PRIMARY KEY, event_id uuid NOT NULL UNIQUE, stream_id text NOT NULL, event_type text NOT NULL)`);
    temporal = await connectTestTemporal();
    const deps = simulatedActivityDeps(db.pool);
    await temporal.startWorker({ ...deps, paymentGateway: gatewayWithOutage(deps.paymentGateway) });
    const registry = new Registry();
    delivery = await startDelivery({
      pool: db.pool,
      connectionString: db.url,
      transport: { kind: 'postgres' },
      consumers,
      topology: consumers,
      relay: false,
      logger: createLogger('silent'),
      registry,
      intervals: { pollMs: 250, rebalanceMs: 250 },
    });
    apiDeps = {
      pool: db.pool,
      temporal: temporal.client,
      taskQueue: temporal.taskQueue,
      orders: {
        approvalThresholdCents: CHAOS_APPROVAL_THRESHOLD_CENTS,
        approvalTimeout: '1h',
        // A capture outage parks the saga for an operator within seconds.
        stepDeadlines: { capturePayment: '3 seconds' },
      },
      consumers,
      registry,
      apiKeys: [KEYS.operator, KEYS.customer],
      temporalUi: { url: testEnv('temporalUiUrl'), namespace: 'default' },
    };
    await startApi();
  });

  afterAll(async () => {
    captureDown = false;
    ledgerBroken = false;
    await browser?.close();
    await app?.close();
    await delivery?.stop();
    await temporal?.close();
    await db?.drop();
  });

  it('shows orders of every kind as they are placed, without a reload; filters and pages them', async () => {
    const page = await openConsole(KEYS.operator.key);
    await onPage(page, 'orders', async () => {
      await page.getByText('Signed in as ops-alice (operator)').waitFor({ timeout: 15_000 });
      await page.getByText('live', { exact: true }).waitFor({ timeout: 15_000 });
      // A marker that a reload would wipe.
      await page.evaluate(() => ((globalThis as unknown as { notReloaded: boolean }).notReloaded = true));

      for (const kind of ORDER_KINDS) {
        const orderId = await placeOrder(kind, `console-${kind}`);
        placed.set(kind, orderId);
        const started = Date.now();
        await page.locator(`tr[data-order-id="${orderId}"]`).waitFor({ timeout: 15_000 });
        process.stdout.write(`[console] ${kind} order on the Orders page after ${Date.now() - started} ms\n`);
      }
      expect(await page.evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);

      // Settle the ones waiting for a decision, through the API, so every kind ends.
      for (const kind of ['approved', 'rejected', 'cancelled'] as const) {
        await waitForStatus(placed.get(kind)!, 'AWAITING_APPROVAL');
      }
      expect((await api('POST', `/orders/${placed.get('approved')}/approve`, {})).status).toBe(200);
      expect((await api('POST', `/orders/${placed.get('rejected')}/reject`, { reason: 'too large' })).status).toBe(200);
      expect((await api('POST', `/orders/${placed.get('cancelled')}/cancel`, {}, KEYS.customer.key)).status).toBe(200);
      for (const [kind, orderId] of placed) {
        const expected = ['happy', 'flakyPayment', 'approved'].includes(kind) ? 'CONFIRMED' : 'CANCELLED';
        await waitForStatus(orderId, expected);
        // The live row moves on by itself too.
        await page.locator(`tr[data-order-id="${orderId}"] .badge`, { hasText: expected }).waitFor({ timeout: 15_000 });
      }

      // Filters: only cancelled orders.
      await page.getByLabel('Status').selectOption('CANCELLED');
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.locator(`tr[data-order-id="${placed.get('happy')}"]`).waitFor({ state: 'detached', timeout: 15_000 });
      const statuses = await page.locator('table[aria-label="Orders"] tbody tr td:nth-child(3)').allInnerTexts();
      expect(statuses.length).toBe(5);
      expect(new Set(statuses)).toEqual(new Set(['CANCELLED']));
      await page.getByRole('button', { name: 'Clear' }).click();

      // Paging: more orders than a page holds.
      const more: string[] = [];
      for (let i = 0; i < 20; i++) more.push(await placeOrder('soldOut', `console-page-${i}`));
      await page.locator(`tr[data-order-id="${more.at(-1)}"]`).waitFor({ timeout: 15_000 });
      // Rows arrive one live update at a time: the page fills up to its 25.
      await waitFor(async () => (await page.locator('table[aria-label="Orders"] tbody tr').count()) === 25, {
        timeoutMs: 15_000,
        description: 'the first page to hold 25 orders',
      });
      const firstPage = await page
        .locator('table[aria-label="Orders"] tbody tr')
        .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-order-id')));
      expect(firstPage).toHaveLength(25);
      await page.getByRole('button', { name: 'Older →' }).click();
      await page.getByText('Page 2').waitFor();
      await waitFor(async () => (await page.locator('table[aria-label="Orders"] tbody tr').count()) === 3, {
        timeoutMs: 10_000,
        description: 'the second page to show the 3 oldest orders',
      });
      const secondPage = await page
        .locator('table[aria-label="Orders"] tbody tr')
        .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-order-id')));
      expect(secondPage.filter((id) => firstPage.includes(id))).toEqual([]);
      // The oldest orders are the first kinds placed.
      expect(secondPage).toContain(placed.get('happy'));
      await screenshot(page, 'console-orders');
    });
    await page.close();
  });

  it("tells a compensated order's story: its steps, the failed one, the compensations in order, and a link to Temporal", async () => {
    const orderId = placed.get('declined')!;
    const page = await openConsole(KEYS.operator.key, `#/orders`);
    await onPage(page, 'order', async () => {
      await page.getByLabel('Customer').fill('console-declined');
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.locator(`tr[data-order-id="${orderId}"] a`).click();
      await page.getByRole('heading', { name: `Order ${orderId}` }).waitFor({ timeout: 15_000 });
      const steps = page.locator('table[aria-label="Saga steps"] tbody tr');
      await steps.first().waitFor();
      const states = await steps.evaluateAll((rows) =>
        rows.map((r) => [r.getAttribute('data-step'), r.getAttribute('data-state')]),
      );
      expect(states).toEqual([
        ['createOrder', 'done'],
        ['reserveInventory', 'compensated'],
        ['authorizePayment', 'failed'],
        ['requestApproval', 'not_run'],
        ['approveOrder', 'not_run'],
        ['scheduleShipment', 'not_run'],
        ['capturePayment', 'not_run'],
        ['confirmOrder', 'not_run'],
      ]);
      expect(await page.locator('tr[data-step="authorizePayment"]').innerText()).toContain('PaymentDeclined');

      // The compensations shown are the compensating events, in the same order.
      const undone = await page.locator('ol[aria-label="Compensations"] li').allInnerTexts();
      const events = (await api<{ events: { eventType: string }[] }>('GET', `/orders/${orderId}/events`)).json.events;
      const timeline = await page
        .locator('ol[aria-label="Timeline"] > li')
        .evaluateAll((items) => items.map((i) => i.getAttribute('data-event-type')));
      expect(timeline).toEqual(events.map((e) => e.eventType));
      // Last in, first out: the failed step's undo (registered before it ran) first. A declined
      // authorization has nothing to void, so only the stock release leaves an event.
      const undoneSteps = undone.map((text) => /undo (\w+)/.exec(text)![1]!);
      expect(undoneSteps).toEqual(['authorizePayment', 'reserveInventory']);
      const undoEvent: Record<string, string> = {
        authorizePayment: 'payment.voided',
        reserveInventory: 'inventory.released',
      };
      const compensating = timeline.filter((t) => Object.values(undoEvent).includes(t!));
      expect(compensating).toEqual(['inventory.released']);
      expect(undoneSteps.map((s) => undoEvent[s]).filter((t) => compensating.includes(t!))).toEqual(compensating);
      expect(timeline.at(-1)).toBe('order.cancelled');

      await screenshot(page, 'console-order');

      // The Temporal UI link opens that workflow.
      const link = page.getByRole('link', { name: `Open order-${orderId} in the Temporal UI ↗` });
      const href = await link.getAttribute('href');
      expect(href).toBe(`${testEnv('temporalUiUrl').replace(/\/$/, '')}/namespaces/default/workflows/order-${orderId}`);
      const [temporalPage] = await Promise.all([page.context().waitForEvent('page'), link.click()]);
      await temporalPage.getByRole('heading', { name: `order-${orderId}` }).waitFor({ timeout: 30_000 });
      await temporalPage.close();
    });
    await page.close();
  });

  it('lists sagas parked past a step deadline; retry completes one after the fix, abandon compensates another; both show who acted', async () => {
    captureDown = true;
    const toRetry = await placeOrder('happy', 'console-stuck-retry');
    const toAbandon = await placeOrder('happy', 'console-stuck-abandon');
    const page = await openConsole(KEYS.operator.key, '#/attention');
    await onPage(page, 'attention', async () => {
      const card = (orderId: string) => page.locator(`li[data-workflow-id="order-${orderId}"]`);
      for (const orderId of [toRetry, toAbandon]) {
        await card(orderId).waitFor({ timeout: 45_000 });
        expect(await card(orderId).innerText()).toContain('capturePayment');
        // The deadline's own timeout, or the last attempt's error when no attempt could start before it.
        expect(await card(orderId).innerText()).toMatch(
          /capturePayment \(escalation #1\): (activity ScheduleToClose timeout|payment gateway unreachable)/,
        );
      }
      await screenshot(page, 'console-attention');

      // The cause is fixed: the gateway is back.
      captureDown = false;
      await card(toRetry).getByRole('button', { name: 'Retry step' }).click();
      await card(toRetry).getByLabel('Reason').fill('gateway is back');
      await card(toRetry).getByRole('button', { name: 'Confirm: retry step' }).click();
      await card(toRetry).waitFor({ state: 'detached', timeout: 30_000 });
      await waitForStatus(toRetry, 'CONFIRMED');

      await card(toAbandon).getByRole('button', { name: 'Abandon step' }).click();
      await card(toAbandon).getByLabel('Reason').fill('customer called: do not charge');
      await card(toAbandon).getByRole('button', { name: 'Confirm: abandon step' }).click();
      await card(toAbandon).waitFor({ state: 'detached', timeout: 30_000 });
      await waitForStatus(toAbandon, 'CANCELLED');

      // Who acted, on the page.
      const actions = page.locator('table[aria-label="Latest operator actions"] tbody');
      await actions.getByText('abandon_step').waitFor({ timeout: 15_000 });
      const rows = await actions.locator('tr').allInnerTexts();
      const retryRow = rows.find((r) => r.includes('retry_step'))!;
      const abandonRow = rows.find((r) => r.includes('abandon_step'))!;
      expect(retryRow).toContain('ops-alice (operator)');
      expect(retryRow).toContain('gateway is back');
      expect(retryRow).toContain('applied');
      expect(abandonRow).toContain('ops-alice (operator)');
      expect(abandonRow).toContain('customer called: do not charge');
    });
    await page.close();

    // The abandoned order was compensated: its events say so, and its page shows who acted.
    const events = (
      await api<{ events: { eventType: string; payload: Record<string, unknown> }[] }>(
        'GET',
        `/orders/${toAbandon}/events`,
      )
    ).json.events;
    expect(events.map((e) => e.eventType)).toEqual(
      expect.arrayContaining(['shipment.cancelled', 'payment.voided', 'inventory.released', 'order.cancelled']),
    );
    expect(events.at(-1)!.payload).toMatchObject({ reason: 'step_deadline_exceeded', failedStep: 'capturePayment' });
    const orderPage = await openConsole(KEYS.operator.key, `#/orders/${toAbandon}`);
    await onPage(orderPage, 'abandoned-order', async () => {
      const audit = orderPage.locator('table[aria-label="Operator actions"]');
      await audit.waitFor({ timeout: 15_000 });
      expect(await audit.innerText()).toContain('abandon_step');
      expect(await audit.innerText()).toContain('ops-alice');
    });
    await orderPage.close();
  });

  it('replays fifty dead letters of one consumer in bulk after the fix: a dry run first, each applied once, parked events released in order', async () => {
    ledgerBroken = true;
    const bulk: string[] = [];
    for (let i = 0; i < 50; i++) bulk.push(await placeOrder('soldOut', `bulk-${i}`));
    // Each order's created event is dead-lettered; its cancellation is parked behind it.
    await waitFor(
      async () => {
        const { rows } = await db.pool.query<{ open: number; parked: number }>(
          `SELECT count(*) FILTER (WHERE status = 'open')::int AS open, count(*) FILTER (WHERE status = 'parked')::int AS parked
           FROM dead_letters WHERE consumer = 'ledger'`,
        );
        return rows[0]!.open === 50 && rows[0]!.parked === 50;
      },
      { timeoutMs: 90_000, description: '50 dead letters and 50 parked events of the ledger' },
    );
    ledgerBroken = false; // the handler is fixed

    const page = await openConsole(KEYS.operator.key, '#/dead-letters');
    await onPage(page, 'dead-letters', async () => {
      await page.getByLabel('Consumer').fill('ledger');
      await page.locator('table[aria-label="Dead letters"] tbody tr').first().waitFor({ timeout: 15_000 });
      await page.getByRole('button', { name: 'Replay matching…' }).click();
      await page.getByTestId('dry-run-count').waitFor();
      expect(await page.getByTestId('dry-run-count').innerText()).toBe('50');
      expect(await page.getByRole('status').innerText()).toContain('50 parked events behind them');
      // Nothing happened yet.
      const { rows: before } = await db.pool
        .query(`SELECT count(*)::int AS n FROM console_ledger WHERE stream_id LIKE 'order-%'
        AND event_id IN (SELECT event_id FROM dead_letters WHERE consumer = 'ledger')`);
      expect(before[0].n).toBe(0);
      await screenshot(page, 'console-dead-letters');

      await page.getByRole('button', { name: 'Replay 50' }).click();
      const summary = page.getByTestId('bulk-result');
      await summary.waitFor({ timeout: 60_000 });
      expect(await summary.innerText()).toBe(
        'Replayed 50: 50 applied, 0 duplicate, 0 failed, 0 discarded, 0 skipped; 50 parked events released.',
      );

      // Each applied once, and per order its creation before its cancellation.
      const { rows } = await db.pool.query<{ stream_id: string; types: string[] }>(
        `SELECT stream_id, array_agg(event_type ORDER BY seq) AS types FROM console_ledger
         WHERE stream_id = ANY($1) GROUP BY stream_id`,
        [bulk.map((id) => `order-${id}`)],
      );
      expect(rows).toHaveLength(50);
      for (const r of rows) expect(r.types).toEqual(['order.created', 'order.cancelled']);

      // A second bulk replay changes nothing.
      await page.getByRole('button', { name: 'Replay matching…' }).click();
      await waitFor(async () => (await page.getByTestId('dry-run-count').innerText()) === '0', {
        timeoutMs: 10_000,
        description: 'the second dry run to count 0',
      });
      const again = await api<{ matched: number; counts: { applied: number } }>('POST', '/dead-letters/replay', {
        consumer: 'ledger',
      });
      expect(again.json).toMatchObject({ matched: 0, counts: { applied: 0 } });
      const { rows: total } = await db.pool.query(
        `SELECT count(*)::int AS n FROM console_ledger WHERE stream_id = ANY($1)`,
        [bulk.map((id) => `order-${id}`)],
      );
      expect(total[0].n).toBe(100);
    });
    await page.close();

    // The bulk action is in the audit log with its counts and who acted.
    const audit = await api<{ actions: { action: string; actor: string; detail: { matched: number } }[] }>(
      'GET',
      '/operator-actions?targetType=dead_letters',
    );
    const replays = audit.json.actions.filter((a) => a.action === 'replay_dead_letters');
    expect(replays.map((a) => [a.actor, a.detail.matched])).toEqual([
      ['ops-alice', 0],
      ['ops-alice', 50],
    ]);
  });

  it('says plainly when a key may only read, when there is no key, and when the API is down, and recovers', async () => {
    // An order waiting for approval: something to act on.
    const waiting = await placeOrder('approved', 'console-keys');
    await waitForStatus(waiting, 'AWAITING_APPROVAL');

    const anonymous = await openConsole(undefined, '#/orders');
    await onPage(anonymous, 'no-key', async () => {
      await anonymous
        .getByText('No valid API key: the console cannot read anything. Enter a key.')
        .waitFor({ timeout: 15_000 });
      await anonymous.getByText('Send an API key in the X-API-Key header').first().waitFor({ timeout: 15_000 });
    });
    await anonymous.close();

    const customer = await openConsole(KEYS.customer.key, '#/attention');
    await onPage(customer, 'customer-key', async () => {
      await customer
        .getByText('Signed in as shop-frontend (customer): orders only, operator pages and actions will be refused')
        .waitFor({ timeout: 15_000 });
      // What needs attention (every customer's sagas) is an operator's page.
      await customer
        .getByText(
          "shop-frontend (customer) may not do this: operators only. Reading this page needs an operator's key.",
        )
        .first()
        .waitFor({ timeout: 15_000 });
      expect(await customer.locator(`li[data-workflow-id="order-${waiting}"]`).count()).toBe(0);
      // The order itself reads, without the operators' sections, and acting on it is refused.
      await customer.goto(`${base}/console#/orders/${waiting}`);
      const approve = customer.getByRole('button', { name: 'Approve' });
      await approve.waitFor({ timeout: 30_000 });
      expect(await customer.getByRole('heading', { name: /Operator actions/ }).count()).toBe(0);
      await approve.click();
      await customer.getByRole('button', { name: 'Confirm: approve' }).click();
      await customer
        .getByText("shop-frontend (customer) may not do this: operators only. Acting needs an operator's key.")
        .waitFor({ timeout: 15_000 });
      expect(await orderStatus(waiting)).toBe('AWAITING_APPROVAL');
    });
    await customer.close();

    const operator = await openConsole(KEYS.operator.key, '#/delivery');
    await onPage(operator, 'held-back', async () => {
      // Another application's session on the same server, in another database, begins writing
      // and stays open: what the orders commit after it is held back from every reader, and the
      // page says by whom.
      const holder = new pg.Client({ connectionString: testEnv('pgAdminUrl'), application_name: 'nightly-batch' });
      await holder.connect();
      try {
        await holder.query('BEGIN');
        const { rows } = await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid, pg_current_xact_id()');
        await placeOrder('happy', 'cust-held-back');
        const line = operator.getByTestId('held-back');
        // Files running beside this one hold transactions of their own for a moment: wait for ours.
        await line
          .filter({ hasText: `process ${rows[0]!.pid} (nightly-batch) in database` })
          .waitFor({ timeout: 30_000 });
        expect(await line.innerText()).toMatch(/^\d+ committed events?, oldest .+, held back from every reader by /);
        await screenshot(operator, 'console-held-back');
      } finally {
        await holder.query('ROLLBACK').catch(() => undefined);
        await holder.end();
      }
      await operator.getByTestId('held-back').waitFor({ state: 'detached', timeout: 30_000 });
    });
    await onPage(operator, 'api-down', async () => {
      const consumersTable = operator.locator('table[aria-label="Consumers"]');
      await consumersTable.locator('tr[data-consumer="order-summary"]').waitFor({ timeout: 15_000 });
      await app.close();
      await operator.getByTestId('api-down').waitFor({ timeout: 15_000 });
      expect(await operator.getByTestId('api-down').innerText()).toContain('The API is not reachable');
      await screenshot(operator, 'console-api-down');
      await startApi(port);
      await operator.getByTestId('api-down').waitFor({ state: 'detached', timeout: 15_000 });
      expect(await consumersTable.locator('tr[data-consumer="ledger"]').innerText()).toContain('ledger');
    });
    await operator.close();
    expect((await api('POST', `/orders/${waiting}/approve`, {})).status).toBe(200);
  });
});
