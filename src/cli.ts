#!/usr/bin/env node
/**
 * `saga`: the operator commands (dlq, order, return) are clients of the API and load only
 * what they need; every other command (and `--help`) loads the whole program.
 */
export const OPERATOR_COMMANDS: readonly string[] = ['dlq', 'order', 'return'];

if (OPERATOR_COMMANDS.includes(process.argv[2] ?? '')) require('./cli/operator-main');
else require('./cli/program');
