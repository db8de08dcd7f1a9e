/** Values the global setup hands to test files through the environment. */
export const TEST_ENV = {
  temporalAddress: 'SAGA_TEST_TEMPORAL_ADDRESS',
  temporalUiUrl: 'SAGA_TEST_TEMPORAL_UI_URL',
  /** The port the suite's Temporal UI expects its codec server on (`startTestCodecServer`). */
  codecPort: 'SAGA_TEST_CODEC_PORT',
  pgAdminUrl: 'SAGA_TEST_PG_ADMIN_URL',
  workflowBundle: 'SAGA_TEST_WORKFLOW_BUNDLE',
  temporalCli: 'SAGA_TEST_TEMPORAL_CLI',
  amqpUrl: 'SAGA_TEST_AMQP_URL',
  natsUrl: 'SAGA_TEST_NATS_URL',
} as const;

export function testEnv(name: keyof typeof TEST_ENV): string {
  const value = process.env[TEST_ENV[name]];
  if (!value) throw new Error(`${TEST_ENV[name]} is not set: run integration tests through jest's global setup`);
  return value;
}
