// Unit tests are pure and fast; integration tests share one Temporal dev server and one
// PostgreSQL provisioned by the global setup. Files run two at a time (most of an integration
// file's time is spent waiting on servers); each keeps to its own databases, task queues,
// broker names and ports, and the few that need something of the suite's to themselves say so
// (`exclusively`, test/helpers/suite-locks.ts). `--maxWorkers=1` runs them one by one.
const transform = {
  '^.+\\.ts$': [
    '@swc/jest',
    { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
  ],
};

/** @type {import('jest').Config} */
module.exports = {
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/test/helpers/summary-reporter.js'],
  projects: [
    {
      displayName: 'unit',
      testEnvironment: '<rootDir>/test/helpers/suite-environment.js',
      transform,
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
    },
    {
      displayName: 'integration',
      testEnvironment: '<rootDir>/test/helpers/suite-environment.js',
      // Held shared by every integration file; the files that stop RabbitMQ or rebuild dist/
      // take them exclusively (test/helpers/suite-locks.ts).
      testEnvironmentOptions: { sharedByAll: ['dist', 'rabbitmq'] },
      transform,
      testMatch: ['<rootDir>/test/integration/**/*.test.ts', '<rootDir>/test/replay/**/*.test.ts'],
      globalSetup: '<rootDir>/test/helpers/global-setup.ts',
      globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/helpers/integration-timeout.ts'],
    },
  ],
};
