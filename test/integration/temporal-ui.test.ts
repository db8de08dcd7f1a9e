import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { waitFor } from '../../src/util/wait';
import type { FastifyInstance } from 'fastify';
import { describeWithBrowser, launchChromium } from '../helpers/browser';
import { startTestCodecServer } from '../helpers/codec-server';
import { testEnv } from '../helpers/env';
import { orderInput } from '../helpers/orders';
import { startSagaWorld, stopSagaWorld, type SagaWorld } from '../helpers/saga-world';
import { exclusively } from '../helpers/suite-locks';

// The suite's Temporal UI asks one codec port, which this file listens on.
exclusively('temporal-ui-codec-port');

const SCREENSHOT = path.resolve(__dirname, '../../artifacts/screenshots/temporal-ui-cancelled-order.png');

let world: SagaWorld | undefined;
let browser: Browser | undefined;
let codec: FastifyInstance | undefined;

describeWithBrowser('Temporal Web UI in a real browser', () => {
  beforeAll(async () => {
    browser = await launchChromium(); // first: with CI=true a missing Chromium fails fast
    world = await startSagaWorld();
    // Summary and details are encrypted payloads: the UI decodes them through the codec route.
    codec = await startTestCodecServer(world.temporal.client, world.db.pool);
  });
  afterAll(async () => {
    await codec?.close();
    await browser?.close();
    await stopSagaWorld(world);
  });

  it('finds a cancelled order by its search attributes and shows its summary and details', async () => {
    const input = orderInput({ paymentToken: 'tok_chargeDeclined' });
    const workflowId = `order-${input.orderId}`;
    const units = input.items.reduce((n, i) => n + i.quantity, 0);
    // The same format the API uses (src/api/routes/orders.ts).
    const summary = `Order for ${input.customerId}: ${units} unit(s) of ${input.items.length} SKU(s), ship to ${input.shippingAddress.city} ${input.shippingAddress.country}`;
    const handle = await world!.temporal.client.workflow.start('orderSaga', {
      workflowId,
      taskQueue: world!.temporal.taskQueue,
      args: [input],
      staticSummary: summary,
    });
    expect(await handle.result()).toMatchObject({ orderId: input.orderId, status: 'CANCELLED' });

    // Visibility is eventually consistent: wait until the search attributes find it.
    const query = `OrderStatus="CANCELLED" AND OrderId="${input.orderId}"`;
    await waitFor(
      async () => {
        for await (const wf of world!.temporal.client.workflow.list({ query }))
          if (wf.workflowId === workflowId) return true;
        return false;
      },
      { timeoutMs: 20_000, description: `visibility to list ${workflowId} by ${query}` },
    );

    const page = await browser!.newPage({ viewport: { width: 1440, height: 1100 } });
    try {
      const ui = testEnv('temporalUiUrl').replace(/\/$/, '');
      await page.goto(`${ui}/namespaces/default/workflows?query=${encodeURIComponent(query)}`, {
        waitUntil: 'domcontentloaded',
      });

      // The filtered list shows exactly our workflow; open it.
      const link = page.locator(`a[href*="/workflows/${workflowId}/"]`).first();
      await link.waitFor({ state: 'visible', timeout: 30_000 });
      await link.click();
      await page.waitForURL(new RegExp(`/workflows/${workflowId}/`), { timeout: 30_000 });

      // The workflow page, User Metadata tab: the id, the static summary, and the current details
      // the workflow set. The UI renders both markdown texts in iframes (Summary first, then
      // Current Details, which it fetches with a query answered by the running worker).
      await page.getByRole('heading', { name: workflowId }).waitFor({ state: 'visible', timeout: 30_000 });
      await page.getByText('User Metadata', { exact: true }).click();
      await page.waitForURL(/\/user-metadata$/, { timeout: 30_000 });
      const rendered = page.locator('iframe[title="output"]');
      const summaryText = rendered.nth(0).contentFrame().getByText(summary);
      const detailsText = rendered.nth(1).contentFrame().getByText(`Order ${input.orderId} — CANCELLED`);
      await summaryText.waitFor({ state: 'visible', timeout: 30_000 });
      await detailsText.waitFor({ state: 'visible', timeout: 30_000 });

      expect(await page.getByRole('heading', { name: workflowId }).innerText()).toBe(workflowId);
      expect(await summaryText.innerText()).toBe(summary);
      const details = await rendered.nth(1).contentFrame().locator('body').innerText();
      expect(details).toContain(`Order ${input.orderId} — CANCELLED`);
      expect(details).toContain('Cancelled: PaymentDeclined (step: authorizePayment)');

      await screenshot(page);
    } catch (err) {
      await screenshot(page).catch(() => undefined);
      throw err;
    } finally {
      await page.close();
    }
  });
});

async function screenshot(page: Page) {
  await mkdir(path.dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
}
