export default async function globalTeardown(): Promise<void> {
  const provisioned = globalThis.__SAGA_TEST__;
  for (const stop of (provisioned?.stops ?? []).reverse()) await stop();
}
