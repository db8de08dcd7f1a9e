import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { describeWithBrowser, launchChromium } from '../helpers/browser';
import { startTestCodecServer } from '../helpers/codec-server';
import { waitFor } from '../../src/util/wait';
import { testEnv } from '../helpers/env';
import { orderInput } from '../helpers/orders';
import { startSagaWorld, stopSagaWorld, type SagaWorld } from '../helpers/saga-world';
import { exclusively } from '../helpers/suite-locks';

// The suite's Temporal UI asks one codec port, which this file listens on.
exclusively('temporal-ui-codec-port');

// Payloads are encrypted in Temporal: the Temporal UI shows an order's input decoded to an
// operator, through the API's codec route, and ciphertext to anyone else.

const SCREENSHOT = path.resolve(__dirname, '../../artifacts/screenshots/temporal-ui-decoded-input.png');
const OPERATOR = { name: 'ops', role: 'operator' as const, key: 'operator-key-for-the-ui-0001' };

let world: SagaWorld | undefined;
let browser: Browser | undefined;
let codec: FastifyInstance | undefined;

describeWithBrowser('Temporal Web UI with encrypted payloads', () => {
  const street = `${randomUUID().slice(0, 8)} Decoded Avenue`;
  const input = orderInput({ shippingAddress: { line1: street, city: 'Berlin', postalCode: '10115', country: 'DE' } });
  const workflowId = `order-${input.orderId}`;

  beforeAll(async () => {
    browser = await launchChromium(); // first: with CI=true a missing Chromium fails fast
    world = await startSagaWorld();
    codec = await startTestCodecServer(world.temporal.client, world.db.pool, [OPERATOR]);
    const handle = await world.temporal.client.workflow.start('orderSaga', {
      workflowId,
      taskQueue: world.temporal.taskQueue,
      args: [input],
    });
    expect(await handle.result()).toMatchObject({ status: 'CONFIRMED' });
  });
  afterAll(async () => {
    await codec?.close();
    await browser?.close();
    await stopSagaWorld(world);
  });

  /** The workflow's page; `operatorKey`: what the operators' authenticating proxy adds to codec calls. */
  async function openWorkflow(operatorKey?: string): Promise<{ page: Page; codecAnswers: number[] }> {
    const page = await browser!.newPage({ viewport: { width: 1440, height: 1400 } });
    const codecAnswers: number[] = [];
    page.on('response', (r) => {
      if (r.url().includes('/codec/decode') && r.request().method() === 'POST') codecAnswers.push(r.status());
    });
    if (operatorKey) {
      await page.route('**/codec/**', (route) =>
        route.continue({ headers: { ...route.request().headers(), 'x-api-key': operatorKey } }),
      );
    }
    const ui = testEnv('temporalUiUrl').replace(/\/$/, '');
    await page.goto(`${ui}/namespaces/default/workflows/${workflowId}`, { waitUntil: 'domcontentloaded' });
    await page.getByRole('heading', { name: workflowId }).waitFor({ state: 'visible', timeout: 30_000 });
    return { page, codecAnswers };
  }

  it('shows the decoded input to an operator', async () => {
    const { page, codecAnswers } = await openWorkflow(OPERATOR.key);
    try {
      await page.getByText(street).first().waitFor({ state: 'visible', timeout: 30_000 });
      expect(codecAnswers).toContain(200);
      expect(await page.locator('body').innerText()).toContain(input.customerId);
      await mkdir(path.dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
    } finally {
      await page.close();
    }
  });

  it('shows ciphertext to anyone without an operator key', async () => {
    const { page, codecAnswers } = await openWorkflow();
    try {
      // The UI asked the codec and was refused; it shows the payloads as stored.
      // (Counted by the page's response listener: the first call may come before this line runs.)
      await waitFor(async () => codecAnswers.length > 0 || undefined, {
        timeoutMs: 30_000,
        description: 'the UI to call the codec',
      });
      // The UI says so, and shows the payloads as stored: `encoding: binary/encrypted` in base64.
      await page.getByText('Codec Server could not connect').first().waitFor({ state: 'attached', timeout: 30_000 });
      const encrypted = Buffer.from('binary/encrypted').toString('base64');
      await page.getByText(encrypted).first().waitFor({ state: 'visible', timeout: 30_000 });
      expect(codecAnswers.length).toBeGreaterThan(0);
      expect(codecAnswers.every((s) => s === 401)).toBe(true);
      const text = await page.locator('body').innerText();
      expect(text).not.toContain(street);
      // Nor the activity summaries the timeline shows (city, payment token, customer id).
      expect(text).not.toContain(input.customerId);
      expect(text).not.toContain('tok_visa');
      expect(text).not.toContain('Schedule shipment to');
    } finally {
      await page.close();
    }
  });
});
