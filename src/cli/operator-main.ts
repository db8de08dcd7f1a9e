import { Command } from 'commander';
import { registerOperatorCommands } from './operator-commands';

/**
 * `saga dlq | order | return …`: clients of the HTTP API, started without loading the rest of
 * the project (Temporal, the store, the worker), so an operator's command answers quickly.
 */
const program = new Command()
  .name('saga')
  .description('Saga orchestrator: operator commands (clients of the HTTP API)');
registerOperatorCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`saga: ${(err as Error).message}\n`);
  process.exit(2);
});
