/** The roles of a deployment, one process each: worker, api, relay, consume. */
import { Command } from 'commander';
import { CONSUMERS, selectConsumers } from '../../consumers';
import { registeredConsumers } from '../../processes/plugins';
import type * as WorkerRole from '../../processes/worker-role';
import type * as ApiRole from '../../processes/api-role';
import type * as DeliveryRole from '../../processes/delivery-role';
import { run, UsageError } from '../run';

// Each role is loaded in its action (`require`, typed by the imports above): a process loads
// only the role it runs, and a command that fails its checks loads none.
const workerRole = (): typeof WorkerRole => require('../../processes/worker-role');
const apiRole = (): typeof ApiRole => require('../../processes/api-role');
const deliveryRole = (): typeof DeliveryRole => require('../../processes/delivery-role');

export function registerRoleCommands(program: Command): void {
  program
    .command('worker')
    .description("Run a Temporal worker for the sagas, the plugins' too (DATABASE_URL, TEMPORAL_ADDRESS)")
    .action(() =>
      run(async (config, logger) => {
        await workerRole().runWorkerRole(config, logger);
      }),
    );

  program
    .command('api')
    .description('Run the HTTP API (DATABASE_URL, TEMPORAL_ADDRESS, PORT)')
    .action(() =>
      run(async (config, logger) => {
        await apiRole().runApiRole(config, logger);
      }),
    );

  program
    .command('relay')
    .description('Publish committed events to the broker (TRANSPORT=rabbitmq|nats); run several for hot standbys')
    .action(() =>
      run(async (config, logger) => {
        if (config.transport === 'postgres') {
          throw new UsageError('TRANSPORT=postgres needs no relay: consumers read the events table directly');
        }
        await deliveryRole().runDeliveryRole(config, logger, { consumers: [], relay: true });
        logger.info({ transport: config.transport }, 'relay started (active or standby)');
      }),
    );

  program
    .command('consume')
    .description('Run consumers (all, or the names given) on the configured TRANSPORT; run several to share partitions')
    .argument('[names...]', `consumers to run (${CONSUMERS.map((c) => c.name).join(', ')}, and the plugins')`)
    .action((names: string[]) =>
      run(async (config, logger) => {
        const consumers = selectConsumers(names, registeredConsumers());
        await deliveryRole().runDeliveryRole(config, logger, { consumers, relay: false });
        logger.info({ consumers: consumers.map((c) => c.name), transport: config.transport }, 'consumers started');
      }),
    );
}
