// A relay or a consumer instance in its own process, so a test can SIGKILL it mid-flight.
// Env: DELIVERY_DATABASE_URL, DELIVERY_TRANSPORT (JSON TransportSettings), DELIVERY_ROLE
// ('relay' | 'consume'), DELIVERY_PARTITIONS (recorder partitions, default 1),
// DELIVERY_FAIL_FOR (comma-separated event ids the recorder refuses), DELIVERY_TAKEOVER_MS
// (DeliveryOptions.takeoverAfterMs), DELIVERY_PAUSE_MS (the recorder's pause inside each
// delivery's transaction). Its pool's connections are named `delivery-process-<pid>`.
// Prints "delivery ready" once started; SIGTERM stops it gracefully.
import { startDelivery } from '../../src/delivery/start';
import type { TransportSettings } from '../../src/delivery/transport-factory';
import { createLogger } from '../../src/logger';
import { createPool } from '../../src/store/pool';
import { recorder } from './delivery';

async function main() {
  const url = process.env.DELIVERY_DATABASE_URL!;
  const takeoverAfterMs = process.env.DELIVERY_TAKEOVER_MS ? Number(process.env.DELIVERY_TAKEOVER_MS) : undefined;
  // As `saga relay` and `saga consume` set them: a frozen process's open transaction ends as its work is taken over.
  const pool = createPool(url, {
    max: 10,
    idleInTransactionTimeoutMs: takeoverAfterMs,
    applicationName: `delivery-process-${process.pid}`,
  });
  const consumer = recorder({
    partitions: Number(process.env.DELIVERY_PARTITIONS ?? 1),
    failFor: new Set((process.env.DELIVERY_FAIL_FOR ?? '').split(',').filter(Boolean)),
    pauseMs: Number(process.env.DELIVERY_PAUSE_MS ?? 0),
  });
  const role = process.env.DELIVERY_ROLE;
  const delivery = await startDelivery({
    pool,
    connectionString: url,
    transport: JSON.parse(process.env.DELIVERY_TRANSPORT!) as TransportSettings,
    consumers: role === 'consume' ? [consumer] : [],
    relay: role === 'relay',
    topology: [consumer],
    logger: createLogger(process.env.DELIVERY_LOG_LEVEL ?? 'warn'),
    intervals: { pollMs: 250, rebalanceMs: 250, standbyMs: 250 },
    takeoverAfterMs,
  });
  process.stdout.write('delivery ready\n');
  process.on('SIGTERM', () => {
    void delivery
      .stop()
      .then(() => pool.end())
      .then(() => process.exit(0));
  });
  // Report state for the test: relay role and owned partitions.
  setInterval(() => {
    process.stdout.write(
      `state ${JSON.stringify({ relay: delivery.relay?.role, partitions: delivery.runner?.ownership() })}\n`,
    );
  }, 250).unref();
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
