import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, makeTelemetryFilterString, NativeConnection, Runtime } from '@temporalio/worker';
import type { Config } from '../processes/config';
import { explore } from '../explore/explore';
import { formatMatrix, reportJson } from '../explore/matrix';
import { quickScenarios, scenariosOf } from '../explore/scenarios';
import { TARGETS } from '../explore/targets';
import type { ExploreTarget } from '../explore/target';
import { dataConverterOf } from '../processes/payload-keys';
import { pluginSagas, registeredConsumers } from '../processes/plugins';
import type { Pool } from '../store/pool';
import { createPool } from '../store/pool';
import { verifySearchAttributes } from '../temporal/search-attribute-registry';
import { lookupLocalStack } from './local-stack';

export interface ExploreCommandOptions {
  quick?: boolean;
  concurrency?: number;
  json?: string;
  markdown?: string;
}

/** `saga explore <saga>` was given a saga it does not know. */
export class UnknownSagaError extends Error {
  override readonly name = 'UnknownSagaError';
}

/**
 * The explorer's target for a saga: the project's own, or a plugin's from its `explore`
 * description with its table, worker and (unless it names its own) every registered consumer.
 */
export function targetOf(sagaName: string, pool: Pool): ExploreTarget {
  const own = TARGETS[sagaName];
  if (own) return own;
  const plugin = pluginSagas().find((s) => s.definition.name === sagaName);
  if (plugin?.explore) {
    return {
      consumers: registeredConsumers(),
      ...plugin.explore,
      saga: plugin.definition as ExploreTarget['saga'],
      worker: { workflowsPath: plugin.workflowsPath, activities: plugin.activities({ pool }) },
    };
  }
  const known = [...Object.keys(TARGETS), ...pluginSagas().flatMap((s) => (s.explore ? [s.definition.name] : []))];
  throw new UnknownSagaError(
    plugin
      ? `Saga ${sagaName} (plugin) has no \`explore\` description: say how to start a run (docs/extending.md)`
      : `Unknown saga ${sagaName} (known: ${known.join(', ')})`,
  );
}

/**
 * `saga explore <saga>`: every failure point of the saga's table on the real stack (the
 * database and Temporal of DATABASE_URL / TEMPORAL_ADDRESS, else of the running `npm start`),
 * with a worker of its own; prints the matrix and exits 1 when an invariant failed.
 */
export async function exploreCommand(
  config: Config,
  databaseUrl: string,
  sagaName: string,
  options: ExploreCommandOptions,
): Promise<boolean> {
  const local = lookupLocalStack(config.dataDir);
  const address =
    process.env.TEMPORAL_ADDRESS || local.state !== 'running' ? config.temporal.address : local.stack.temporalAddress;
  // Activity failures are what the explorer injects: the SDK's warnings about them are noise here.
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    shutdownSignals: [],
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } },
  });
  // The stack's payload keys (configured, or the local stack's): its workers read what this writes.
  const dataConverter = dataConverterOf(config);
  const pool = createPool(databaseUrl, { applicationName: 'saga-explore' });
  let target: ExploreTarget;
  try {
    target = targetOf(sagaName, pool);
  } catch (err) {
    await pool.end();
    throw err;
  }
  const clientConnection = await Connection.connect({ address });
  const connection = await NativeConnection.connect({ address });
  const all = scenariosOf(target.saga);
  const scenarios = options.quick ? quickScenarios(all) : all;
  process.stderr.write(`Exploring ${target.saga.name}: ${scenarios.length} scenarios on ${address}…\n`);
  try {
    // The sagas set search attributes: a server without them fails every run, so say so first.
    await verifySearchAttributes(clientConnection, config.temporal.namespace);
    const report = await explore({
      pool,
      client: new Client({
        connection: clientConnection,
        namespace: config.temporal.namespace,
        dataConverter,
      }),
      connection,
      namespace: config.temporal.namespace,
      target,
      scenarios,
      concurrency: options.concurrency,
      onResult: (r) => process.stderr.write(`  ${r.ok ? 'ok  ' : 'FAIL'} ${r.scenario.id}: ${r.outcome}\n`),
    });
    const markdown = formatMatrix(report);
    process.stdout.write(`${markdown}\n`);
    for (const [file, text] of [
      [options.markdown, markdown],
      [options.json, reportJson(report)],
    ] as const) {
      if (!file) continue;
      mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      writeFileSync(file, text);
    }
    return report.ok;
  } finally {
    await connection.close();
    await clientConnection.close();
    await pool.end();
  }
}
