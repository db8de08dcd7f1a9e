import { chmod, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { embeddedPostgresProblem, startEmbeddedPostgres } from '../../src/store/embedded-postgres';
import { resolveTemporalCli } from '../../src/temporal/cli-binary';
import { startDevServer } from '../../src/temporal/dev-server';
import { freePort, isReachable } from '../../src/util/free-port';
import { generatePayloadKey } from '../../src/temporal/payload-codec';
import { shippedWorkflowBundle } from '../../src/worker';
import ensureDistBuilt from './dist-setup';
import { TEST_ENV } from './env';

interface Provisioned {
  stops: (() => Promise<void>)[];
}
declare global {
  // eslint-disable-next-line no-var
  var __SAGA_TEST__: Provisioned | undefined;
}

const ROOT = path.resolve(__dirname, '../..');
const log = (line: string) => process.stderr.write(`[setup] ${line}\n`);

/** Broker suites need these; with CI=true their absence fails the run instead of skipping. */
async function checkBroker(name: string, variable: string, fallback: string, testVar: string) {
  const url = new URL(process.env[variable] || fallback);
  const port = Number(url.port || (url.protocol.startsWith('amqp') ? 5672 : 4222));
  if (await isReachable(url.hostname, port)) {
    process.env[testVar] = url.toString();
    return;
  }
  const why = `${name} is not reachable at ${url.host} (${variable})`;
  if (process.env.CI === 'true') throw new Error(`${why}; CI=true requires it`);
  log(`${why}: suites that need ${name} will skip.`);
}

const LOCAL_POSTGRES = 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * DATABASE_URL when set; else the embedded PostgreSQL; else (it cannot run, e.g. as root
 * in a checkout under a 0700 folder) a PostgreSQL answering on 127.0.0.1:5432. Test files
 * only create and drop their own `saga_test_*` databases.
 */
async function provisionPostgres(tmp: string, provisioned: Provisioned): Promise<string> {
  if (process.env.DATABASE_URL) {
    process.env[TEST_ENV.pgAdminUrl] = process.env.DATABASE_URL;
    return 'DATABASE_URL';
  }
  const dataDir = path.join(tmp, 'postgres');
  const problem = embeddedPostgresProblem(dataDir);
  if (!problem) {
    // Three test files at a time, each with its pools, and some with a real Temporal server's.
    const pg = await startEmbeddedPostgres({ dataDir, port: await freePort(), maxConnections: 600 });
    provisioned.stops.push(pg.stop);
    process.env[TEST_ENV.pgAdminUrl] = pg.adminUrl;
    return 'embedded';
  }
  if (await isReachable('127.0.0.1', 5432)) {
    log(`Not using the embedded PostgreSQL: ${problem} Using the local server at 127.0.0.1:5432.`);
    process.env[TEST_ENV.pgAdminUrl] = LOCAL_POSTGRES;
    return 'local 127.0.0.1:5432';
  }
  throw new Error(`No PostgreSQL for the tests: ${problem}`);
}

export default async function globalSetup(): Promise<void> {
  const provisioned: Provisioned = { stops: [] };
  globalThis.__SAGA_TEST__ = provisioned;
  try {
    await provision(provisioned);
  } catch (err) {
    // Jest skips the teardown when the setup fails: stop what was started here.
    for (const stop of provisioned.stops.reverse()) await stop().catch(() => undefined);
    throw err;
  }
}

async function provision(provisioned: Provisioned): Promise<void> {
  const started = Date.now();
  ensureDistBuilt();
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'saga-test-'));
  // The embedded PostgreSQL may run as an unprivileged `postgres` user; it must reach its folder.
  await chmod(tmp, 0o755);

  await checkBroker('RabbitMQ', 'AMQP_URL', 'amqp://guest:guest@127.0.0.1:5672', TEST_ENV.amqpUrl);
  await checkBroker('NATS', 'NATS_URL', 'nats://127.0.0.1:4222', TEST_ENV.natsUrl);

  // Encryption on, as users run it: every test client, worker and spawned role shares this key.
  if (!process.env.PAYLOAD_KEYS && !process.env.PAYLOAD_KEY_FILE)
    process.env.PAYLOAD_KEYS = generatePayloadKey('test-1');

  const cli = await resolveTemporalCli({ onProgress: log, allowSdkDownload: true });
  if (cli.path) process.env[TEST_ENV.temporalCli] = cli.path;
  // Payloads are encrypted: the UI decodes them through the API's /codec, which a browser test
  // starts on this port (`startTestCodecServer`).
  const codecPort = await freePort();
  process.env[TEST_ENV.codecPort] = String(codecPort);
  // The dev server and PostgreSQL start side by side (both mostly wait); whichever started is
  // stopped by the teardown, or by globalSetup's catch when the other failed.
  const [devServer, postgres] = await Promise.allSettled([
    startDevServer({
      cli,
      port: await freePort(),
      uiPort: await freePort(), // the Web UI, for the browser check
      uiCodecEndpoint: `http://127.0.0.1:${codecPort}/codec`,
      logFile: path.join(tmp, 'temporal.log'),
    }),
    provisionPostgres(tmp, provisioned),
  ]);
  if (devServer.status === 'fulfilled') {
    const server = devServer.value;
    let serverStopped = false;
    provisioned.stops.push(async () => {
      await server.stop();
      serverStopped = true;
    });
    // Safety net when jest exits without its teardown: never leave a server behind.
    process.once('exit', () => {
      if (!serverStopped && server.pid) process.kill(server.pid, 'SIGKILL');
    });
  }
  if (devServer.status === 'rejected') throw devServer.reason;
  if (postgres.status === 'rejected') throw postgres.reason;
  const [server, pgSource] = [devServer.value, postgres.value];
  process.env[TEST_ENV.temporalAddress] = server.address;
  process.env[TEST_ENV.temporalUiUrl] = server.uiUrl!;

  // The workflow bundle the build ships (dist/ was built above): the same workflow code, bundled once per change.
  const bundlePath = shippedWorkflowBundle(path.join(ROOT, 'dist'));
  if (!bundlePath)
    throw new Error('dist/ holds no workflow bundle for this @temporalio/workflow: run npm run build -- --force');
  process.env[TEST_ENV.workflowBundle] = bundlePath;

  log(
    `Temporal ${server.address} (${cli.source}), PostgreSQL ${pgSource}, ` +
      `workflow bundle ready in ${((Date.now() - started) / 1000).toFixed(1)}s`,
  );
}
