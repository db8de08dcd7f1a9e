// Unit tests are pure and fast; integration tests share one Temporal dev server and one
// PostgreSQL provisioned by the global setup. Files run three at a time: most of an integration
// file's time is spent waiting on servers, and with two the machine's two cores sat a fifth
// idle (with three, about a twentieth). Each keeps to its own databases, task queues, broker
// names and ports, waits on conditions rather than for fixed times (the load-driven fault
// tests bound their load), and the few that need something of the suite's to themselves say so
// (`exclusively`, test/helpers/suite-locks.ts). `--maxWorkers=1` runs them one by one.
const transform = {
  '^.+\\.ts$': [
    '@swc/jest',
    { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
  ],
};

/** @type {import('jest').Config} */
module.exports = {
  maxWorkers: 3,
  // The file that runs alone first, beside the unit files; then the longest first (a fresh clone).
  testSequencer: '<rootDir>/test/helpers/sequencer.js',
  reporters: ['default', '<rootDir>/test/helpers/summary-reporter.js'],
  projects: [
    {
      displayName: 'unit',
      testEnvironment: '<rootDir>/test/helpers/suite-environment.js',
      transform,
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
      // docs-commands runs dist/cli.js, built once for the run (the integration setup does too).
      globalSetup: '<rootDir>/test/helpers/dist-setup.ts',
    },
    {
      displayName: 'integration',
      testEnvironment: '<rootDir>/test/helpers/suite-environment.js',
      // Held shared by every integration file; the file that stops RabbitMQ takes it
      // exclusively (test/helpers/suite-locks.ts).
      testEnvironmentOptions: { sharedByAll: ['rabbitmq'] },
      transform,
      testMatch: ['<rootDir>/test/integration/**/*.test.ts', '<rootDir>/test/replay/**/*.test.ts'],
      globalSetup: '<rootDir>/test/helpers/global-setup.ts',
      globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/helpers/integration-timeout.ts'],
    },
  ],
};
