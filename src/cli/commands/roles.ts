/** The roles of a deployment, one process each: worker, api, relay, consume. */
import { Command } from 'commander';
import { CONSUMERS, selectConsumers } from '../../consumers';
import { runApiRole } from '../../processes/api-role';
import { runDeliveryRole } from '../../processes/delivery-role';
import { registeredConsumers } from '../../processes/plugins';
import { runWorkerRole } from '../../processes/worker-role';
import { run, UsageError } from '../run';

export function registerRoleCommands(program: Command): void {
  program
    .command('worker')
    .description("Run a Temporal worker for the sagas, the plugins' too (DATABASE_URL, TEMPORAL_ADDRESS)")
    .action(() =>
      run(async (config, logger) => {
        await runWorkerRole(config, logger);
      }),
    );

  program
    .command('api')
    .description('Run the HTTP API (DATABASE_URL, TEMPORAL_ADDRESS, PORT)')
    .action(() =>
      run(async (config, logger) => {
        await runApiRole(config, logger);
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
        await runDeliveryRole(config, logger, { consumers: [], relay: true });
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
        await runDeliveryRole(config, logger, { consumers, relay: false });
        logger.info({ consumers: consumers.map((c) => c.name), transport: config.transport }, 'consumers started');
      }),
    );
}
