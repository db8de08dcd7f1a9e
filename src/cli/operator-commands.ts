import os from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ApiClient, CliError, resolveApiTarget } from './api-client';
import {
  formatAction,
  formatBulk,
  formatDeadLetter,
  formatDeadLetterList,
  formatSagaAction,
  type ActionAnswer,
  type BulkAnswer,
  type DeadLetterDetailView,
  type DeadLetterView,
  type SagaView,
} from './output';

/**
 * `saga dlq …`, `saga order …`, `saga return …`: operator actions as clients of the HTTP API,
 * which checks the role and audits who acted (the API key's name). Never a second path to the
 * database or to Temporal. Every failure is one message on stderr and exit code 1.
 */

interface ClientOptions {
  api?: string;
  json?: boolean;
}

const apiOption = () =>
  new Option('--api <url>', 'the API to call (default: SAGA_API_URL, else the running `npm start`); key: SAGA_API_KEY');

/** Adds the options every API command takes. */
const asClient = (command: Command): Command =>
  command.addOption(apiOption()).option('--json', "print the API's JSON answer");

function defaultActor(): string {
  try {
    return `cli:${os.userInfo().username}`;
  } catch {
    return 'cli';
  }
}

/**
 * Runs one API call: the client from --api / SAGA_API_URL / the running stack; failures as
 * messages, exit 1. `check` validates the command line first, so a usage error is reported
 * as such even when no API is around.
 */
async function operate<P = undefined>(
  options: ClientOptions & { actor?: string },
  call: (api: ApiClient, checked: P) => Promise<void>,
  check: () => P = () => undefined as P,
): Promise<void> {
  try {
    const checked = check();
    const api = new ApiClient(resolveApiTarget(options), { actor: options.actor ?? defaultActor() });
    await call(api, checked);
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`saga: ${err.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    process.stderr.write(`saga: ${(err as Error)?.stack ?? err}\n`);
    process.exitCode = 1;
  }
}

const out = (text: string) => void process.stdout.write(text);
const printJson = (value: unknown) => out(`${JSON.stringify(value, null, 2)}\n`);

// Argument parsers: commander reports their errors ("error: command-argument value … is invalid …") with exit 1.
const deadLetterId = (value: string): number => {
  if (!/^[1-9]\d{0,14}$/.test(value)) throw new InvalidArgumentError('A dead letter id is a positive integer.');
  return Number(value);
};
const uuid = (what: string) => (value: string) => {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) {
    throw new InvalidArgumentError(`${what} is a UUID.`);
  }
  return value.toLowerCase();
};
const stepName = (value: string): string => {
  if (!/^[A-Za-z][A-Za-z0-9_-]{0,99}$/.test(value))
    throw new InvalidArgumentError('A step is named like capturePayment.');
  return value;
};
const limit = (value: string): number => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 500) throw new InvalidArgumentError('Give a whole number from 1 to 500.');
  return n;
};
const instant = (value: string): string => {
  const ms = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms))
    throw new InvalidArgumentError('Give an ISO 8601 date or date-time, e.g. 2025-05-01T12:00:00Z.');
  return new Date(ms).toISOString();
};
const text = (value: string): string => {
  if (!value.trim()) throw new InvalidArgumentError('It must not be empty.');
  return value;
};

const STATUSES = ['open', 'parked', 'replayed', 'discarded', 'unresolved', 'all'] as const;

interface BulkOptions extends ClientOptions {
  consumer?: string;
  type?: string;
  reason?: string;
  since?: string;
  until?: string;
  all?: boolean;
  dryRun?: boolean;
  actor?: string;
}

/** Filters given for a bulk action (the API's body fields), none when only --all. */
function bulkFilter(o: BulkOptions) {
  const filter = { consumer: o.consumer, eventType: o.type, reason: o.reason, from: o.since, to: o.until };
  return Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined)) as Partial<typeof filter>;
}

/** An id, or filters (or --all) for the bulk route; refuses a mix with a message. */
function singleOrBulk(action: 'replay' | 'discard', id: number | undefined, o: BulkOptions) {
  const filters = bulkFilter(o);
  const hasFilters = Object.keys(filters).length > 0;
  if (id !== undefined) {
    if (hasFilters || o.all) throw new CliError(`Give a dead letter id or filters (--consumer, --type, …), not both.`);
    if (o.dryRun) throw new CliError(`--dry-run previews a bulk ${action}: give filters instead of an id.`);
    return { id };
  }
  if (hasFilters && o.all) throw new CliError('--all takes every open dead letter: give it without filters.');
  if (!hasFilters && !o.all) {
    throw new CliError(
      `Say which dead letters to ${action}: an id, or filters (--consumer, --type, --reason, --since, --until), ` +
        'or --all for every open one. Try --dry-run first.',
    );
  }
  return { filters };
}

function bulkOptions(command: Command, action: 'replay' | 'discard'): Command {
  return command
    .option('--consumer <name>', `bulk: ${action} the open dead letters of this consumer`)
    .option('--type <eventType>', 'bulk: only this event type')
    .option('--reason <reason>', 'bulk: only dead letters with this reason (e.g. handler_failed, invalid_payload)')
    .option('--since <iso>', 'bulk: first failed at or after this time', instant)
    .option('--until <iso>', 'bulk: first failed before this time', instant)
    .option('--all', 'bulk: every open dead letter (no filter)')
    .option('--dry-run', 'bulk: only say how many match, change nothing')
    .option('--actor <name>', "who is acting, recorded when the API is open (with keys: the key's name)");
}

function registerDlq(program: Command): void {
  const dlq = program
    .command('dlq')
    .description('Dead letters through the API: list, show, replay, discard (SAGA_API_URL or the running npm start)');

  asClient(
    dlq
      .command('list')
      .description('List dead letters (default: unresolved ones)')
      .option('--consumer <name>', 'only this consumer')
      .option('--type <eventType>', 'only this event type')
      .addOption(new Option('--status <status>', 'which ones').choices(STATUSES).default('unresolved'))
      .option('--limit <n>', 'at most this many (1..500)', limit, 100),
  ).action((o: ClientOptions & { consumer?: string; type?: string; status: string; limit: number }) =>
    operate(o, async (api) => {
      const answer = await api.get<{ deadLetters: DeadLetterView[] }>('/dead-letters', {
        consumer: o.consumer,
        eventType: o.type,
        status: o.status,
        limit: o.limit,
      });
      if (o.json) return printJson(answer);
      out(formatDeadLetterList(answer.deadLetters));
    }),
  );

  asClient(
    dlq
      .command('show')
      .argument('<id>', 'dead letter id', deadLetterId)
      .description('Show one dead letter: the event, the error and stack, and every action taken'),
  ).action((id: number, o: ClientOptions) =>
    operate(o, async (api) => {
      const letter = await api.get<DeadLetterDetailView>(`/dead-letters/${id}`);
      if (o.json) return printJson(letter);
      out(formatDeadLetter(letter));
    }),
  );

  for (const action of ['replay', 'discard'] as const) {
    const command = dlq
      .command(action)
      .argument('[id]', 'dead letter id (or select several with the bulk filters)', deadLetterId)
      .description(
        action === 'replay'
          ? "Re-deliver a dead letter (or every one the filters match) to its consumer only, inbox-deduplicated; releases the stream's parked events"
          : "Resolve a dead letter (or every one the filters match) without applying it; releases the stream's parked events",
      );
    bulkOptions(command, action);
    if (action === 'discard') command.option('--note <text>', 'why (recorded)', text);
    asClient(command).action((id: number | undefined, o: BulkOptions & { note?: string }) =>
      operate(
        o,
        async (api, target) => {
          const note = action === 'discard' && o.note !== undefined ? { note: o.note } : {};
          if ('id' in target) {
            const result =
              action === 'discard'
                ? await api.post<ActionAnswer>(`/dead-letters/${target.id}/discard`, note)
                : await api.post<ActionAnswer>(`/dead-letters/${target.id}/replay`);
            const printed = formatAction(result);
            if (o.json) printJson(result);
            else out(printed.text);
            if (printed.failed) process.exitCode = 1;
            return;
          }
          const result = await api.post<BulkAnswer>(`/dead-letters/${action}`, {
            ...target.filters,
            ...note,
            dryRun: Boolean(o.dryRun),
          });
          const printed = formatBulk(action, result);
          if (o.json) printJson(result);
          else out(printed.text);
          if (printed.failed) process.exitCode = 1;
        },
        () => singleOrBulk(action, id, o),
      ),
    );
  }
}

interface SagaAction {
  name: string;
  description: string;
  /** The path under /orders/:id or /returns/:id. */
  path: (step: string | undefined) => string;
  withStep: boolean;
  reason: 'required' | 'optional';
  /** What happened, for "Order <id>: <what>; saga phase now …". */
  what: (step: string | undefined) => string;
}

const STEP_AND_COMPENSATION_ACTIONS: SagaAction[] = [
  {
    name: 'retry-step',
    description: 'Run the step parked past its deadline again, after fixing its cause',
    path: (step) => `/steps/${encodeURIComponent(step!)}/retry`,
    withStep: true,
    reason: 'required',
    what: (step) => `retry of ${step} sent`,
  },
  {
    name: 'abandon-step',
    description: 'Give up on the step parked past its deadline: the saga compensates what it did',
    path: (step) => `/steps/${encodeURIComponent(step!)}/abandon`,
    withStep: true,
    reason: 'required',
    what: (step) => `${step} abandoned`,
  },
  {
    name: 'retry-compensation',
    description: 'Run the compensation that kept failing again, after fixing its cause',
    path: () => '/compensation/retry',
    withStep: false,
    reason: 'required',
    what: () => 'retry of the failed compensation sent',
  },
  {
    name: 'resolve-compensation',
    description: 'Declare the compensation that kept failing undone by hand: the saga carries on without it',
    path: () => '/compensation/resolve',
    withStep: false,
    reason: 'required',
    what: () => 'failed compensation marked resolved',
  },
];

const APPROVAL_ACTIONS: SagaAction[] = [
  {
    name: 'approve',
    description: 'Approve an order waiting for approval',
    path: () => '/approve',
    withStep: false,
    reason: 'optional',
    what: () => 'approved',
  },
  {
    name: 'reject',
    description: 'Reject an order waiting for approval: it is compensated',
    path: () => '/reject',
    withStep: false,
    reason: 'required',
    what: () => 'rejected',
  },
];

function registerSagaCommands(program: Command, kind: 'order' | 'return', actions: SagaAction[]): void {
  const idName = `${kind}Id`;
  const parent = program
    .command(kind)
    .description(
      `Operator actions on ${kind === 'order' ? 'an order' : 'a return'}'s saga through the API (SAGA_API_URL or the running npm start)`,
    );
  for (const a of actions) {
    const command = parent
      .command(a.name)
      .description(a.description)
      .argument(`<${idName}>`, `the ${kind} id`, uuid(`The ${kind} id`));
    if (a.withStep)
      command.argument(
        '<step>',
        `the parked step, e.g. ${kind === 'order' ? 'capturePayment' : 'refundPayment'}`,
        stepName,
      );
    if (a.reason === 'required') command.requiredOption('--reason <text>', 'why (recorded in the audit log)', text);
    else command.option('--reason <text>', 'why (recorded)', text);
    asClient(command).action(async (...args: unknown[]) => {
      const id = args[0] as string;
      const step = a.withStep ? (args[1] as string) : undefined;
      const o = args[a.withStep ? 2 : 1] as ClientOptions & { reason?: string };
      await operate(o, async (api) => {
        const result = await api.post<{ saga: SagaView }>(
          `/${kind}s/${id}${a.path(step)}`,
          o.reason !== undefined ? { reason: o.reason } : {},
        );
        if (o.json) return printJson(result);
        out(formatSagaAction(kind, id, a.what(step), result.saga));
      });
    });
  }
}

export function registerOperatorCommands(program: Command): void {
  registerDlq(program);
  registerSagaCommands(program, 'order', [...STEP_AND_COMPENSATION_ACTIONS, ...APPROVAL_ACTIONS]);
  registerSagaCommands(program, 'return', STEP_AND_COMPENSATION_ACTIONS);
}
