// The test environment: Node's, plus the suite locks. Jest runs test files side by side
// (maxWorkers in jest.config.js); a few need something of the suite's to themselves while they
// run, and say so with `exclusively(…)` (test/helpers/suite-locks.ts).
//
// The project's `sharedByAll` resources (testEnvironmentOptions) are held shared by every file
// that does not take them exclusively, so taking one exclusively waits for every running file
// to finish: RabbitMQ, which one test stops.
// Any other name is exclusive only among the files that name it (a fixed port two files listen
// on). The locks are PostgreSQL advisory locks on the suite's admin database: a waiting
// exclusive request queues new shared ones behind it, a worker that dies lets its locks go with
// its connection, and every file takes its locks in one order (no deadlock). They are taken once
// the file's tests are collected (before its first hook) and let go in teardown (after its
// last). Without the suite's database (the unit project run alone) there is nothing to share.
const { createHash } = require('node:crypto');
const { TestEnvironment } = require('jest-environment-node');
const pg = require('pg');

const keyOf = (resource) => createHash('sha256').update(`saga-test:${resource}`).digest().readBigInt64BE(0).toString();

class SuiteEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.sharedByAll = config.projectConfig.testEnvironmentOptions?.sharedByAll ?? [];
  }

  async handleTestEvent(event) {
    if (event.name !== 'run_start') return;
    const declared = this.global.__sagaSuiteLocks ?? { exclusive: [] };
    const wanted = new Map(this.sharedByAll.map((r) => [r, 'shared']));
    for (const r of declared.exclusive) wanted.set(r, 'exclusive');
    const url = process.env.SAGA_TEST_PG_ADMIN_URL;
    if (!url || wanted.size === 0) return;
    this.locks = new pg.Client({ connectionString: url, application_name: 'saga-test-locks' });
    await this.locks.connect();
    for (const [resource, mode] of [...wanted].sort(([a], [b]) => a.localeCompare(b))) {
      const fn = mode === 'exclusive' ? 'pg_advisory_lock' : 'pg_advisory_lock_shared';
      await this.locks.query(`SELECT ${fn}($1::bigint)`, [keyOf(resource)]);
    }
  }

  async teardown() {
    await this.locks?.end().catch(() => undefined);
    await super.teardown();
  }
}
module.exports = SuiteEnvironment;
