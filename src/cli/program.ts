/**
 * The whole `saga` program: argument parsing over one module per group of commands
 * (src/cli/commands/). `src/cli.ts` loads it for everything but the operator commands, which
 * are clients of the API and load only those (src/cli/operator-main.ts).
 */
import { Command } from 'commander';
import { registerDatabaseCommands } from './commands/database';
import { registerRoleCommands } from './commands/roles';
import { registerStackCommands } from './commands/run-stack';
import { registerToolCommands } from './commands/tools';
import { registerOperatorCommands } from './operator-commands';

const program = new Command()
  .name('saga')
  .description('Saga orchestrator: durable order lifecycles on Temporal with a transactional outbox');

registerStackCommands(program);
registerDatabaseCommands(program);
registerRoleCommands(program);
// Operator commands (dlq, order, return) are clients of the HTTP API: src/cli/operator-commands.ts.
registerOperatorCommands(program);
registerToolCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`saga: ${(err as Error).message}\n`);
  process.exit(2);
});
