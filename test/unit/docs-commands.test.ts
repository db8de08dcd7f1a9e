import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { codeBlocks, markdownFiles, readMarkdown, ROOT } from '../helpers/markdown';

/**
 * Every shell command in README.md and docs/*.md is accounted for: the cheap ones run here as
 * written, and every other one names the test that runs it or why it cannot run here. A
 * command added to the docs without an entry below fails this test, and so does an entry no
 * command matches any more.
 */

const run = promisify(execFile);

interface DocCommand {
  /** The command as written, without its trailing comment. */
  command: string;
  where: string;
}

/**
 * The commands of a shell block: continuation lines joined, a quoted string spanning lines
 * kept whole, comments, blank and comment-only lines left out. `line` is the block's first.
 */
function commandsOf(code: string, where: (line: number) => string, line = 1): DocCommand[] {
  const found: DocCommand[] = [];
  let pending = '';
  let start = 0;
  code.split('\n').forEach((text, i) => {
    if (pending === '') start = line + i;
    pending += (pending === '' ? '' : '\n') + text;
    const { code: command, quoteOpen } = scan(pending);
    if (quoteOpen || command.trimEnd().endsWith('\\')) return;
    pending = '';
    if (command.trim() !== '') found.push({ command: command.trim(), where: where(start) });
  });
  return found;
}

/** The commands of every ```sh / ```bash / ```shell block of README.md and docs/*.md. */
function docCommands(): DocCommand[] {
  return markdownFiles().flatMap((file) =>
    codeBlocks(readMarkdown(file), ['sh', 'bash', 'shell']).flatMap((block) =>
      commandsOf(block.code, (n) => `${file}:${n}`, block.line + 1),
    ),
  );
}

/** The text before a ` #` comment outside quotes, and whether a quote is still open at its end. */
function scan(text: string): { code: string; quoteOpen: boolean } {
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) return { code: text.slice(0, i), quoteOpen: false };
  }
  return { code: text, quoteOpen: quote !== undefined };
}

interface Entry {
  /** The command as written; with `prefix`, every command that starts with it. */
  command: string;
  prefix?: true;
  /** `run`: executed here; otherwise the test that runs it (a path) or why it cannot run here. */
  by: 'run' | string;
}

const TOUR =
  'the curl tour needs a running npm start (and jq); test/integration/dev-stack.test.ts runs npm start and places an order through the same API';
const OPERATOR_CLI =
  'placeholders for ids of a running system; test/integration/cli-operator.test.ts and test/integration/cli.test.ts run these commands against a real API';

const PLUGIN = 'test/integration/package-install.test.ts (the booking plugin in a project of its own)';

const ACCOUNTED: Entry[] = [
  // Run here, as written.
  { command: 'npx saga --help', by: 'run' },
  { command: 'npx saga cluster up --help', by: 'run' },
  { command: 'npm run catalog -- --check', by: 'run' },

  // README: install, run, test.
  { command: 'npm ci', by: 'installs the dependencies this test runs with' },
  { command: 'npm start', by: 'test/integration/dev-stack.test.ts' },
  { command: 'npm test', by: 'the whole suite, this test included' },

  // README: the curl tour.
  { command: 'curl -s ', prefix: true, by: TOUR },
  { command: 'export API_KEYS=', prefix: true, by: TOUR },
  { command: "C='x-api-key: ", prefix: true, by: TOUR },
  { command: 'order() { curl ', prefix: true, by: TOUR },
  { command: "addr='", prefix: true, by: TOUR },
  { command: 'ID=$(order ', prefix: true, by: TOUR },
  { command: 'sleep 1; curl ', prefix: true, by: TOUR },
  { command: 'open http://localhost:3000/docs', by: TOUR },

  // docs/deployment.md
  {
    command: 'npx saga temporal-server',
    by: 'builds the Temporal server with Go for minutes on a first run; .ci/run runs it, test/integration/temporal-server.test.ts uses what it builds',
  },
  {
    command: 'TRANSPORT=nats NATS_URL=nats://127.0.0.1:4222 npx saga cluster up',
    by: 'test/integration/cluster-up.test.ts',
  },
  { command: 'export DATABASE_URL=postgres://user:pass@db:5432/saga', prefix: true, by: 'names servers of yours' },
  { command: 'export PAYLOAD_KEY_FILE=/run/secrets/payload-keys', by: 'names a secret of yours' },
  { command: 'npx saga migrate', by: 'test/integration/cli-operator.test.ts' },
  { command: 'npx saga seed', by: 'test/integration/cli-operator.test.ts' },
  { command: 'npx saga worker', by: 'test/integration/cli.test.ts' },
  { command: 'npx saga api', by: 'test/integration/graceful-shutdown.test.ts' },
  { command: 'npx saga consume', by: 'test/integration/cli.test.ts' },
  { command: 'npx saga relay', by: 'test/integration/graceful-shutdown.test.ts' },
  {
    command: 'temporal operator search-attribute create',
    prefix: true,
    by: 'needs an external Temporal cluster; test/unit/docker-compose.test.ts checks the same attributes against the code',
  },
  {
    command: 'docker compose up --build -d --wait',
    by: 'needs a Docker engine; test/unit/docker-compose.test.ts checks the file against the code',
  },

  // docs/operations.md
  {
    command: 'npx saga payload-key --id key-2027-01',
    by: 'prints a random key; test/unit/payload-codec.test.ts tests what it prints, and the file it makes with --file',
  },

  // docs/development.md
  {
    command: 'npm run chaos',
    prefix: true,
    by: 'test/integration/chaos.test.ts (at a small size, with --built; a full run takes 12 minutes)',
  },
  {
    command: 'npx saga explore ',
    prefix: true,
    by: 'needs a running stack for minutes; test/integration/explore.test.ts runs one scenario of each fault kind',
  },

  // docs/extending.md
  { command: 'export SAGA_PLUGINS=./build/booking.plugin.js', by: PLUGIN },
  { command: 'npx saga catalog --update-lock', by: PLUGIN },
  { command: 'npx saga catalog', by: PLUGIN },
  { command: 'npx saga catalog --check', by: PLUGIN },
  { command: 'npx saga explore bookingSaga --quick', by: PLUGIN },
  { command: 'npx saga replay histories', by: PLUGIN },
  {
    command: 'npm run catalog -- --update-lock',
    by: 'rewrites events.lock.json: a deliberate release step; test/unit/event-catalog.test.ts checks the lock',
  },
  {
    command: 'npm run catalog',
    by: 'rewrites docs/events.md and docs/asyncapi.yaml; test/unit/catalog-docs.test.ts checks they are what it writes',
  },

  // docs/operations.md
  { command: 'npx saga order ', prefix: true, by: OPERATOR_CLI },
  { command: 'npx saga return ', prefix: true, by: OPERATOR_CLI },
  { command: 'npx saga dlq ', prefix: true, by: OPERATOR_CLI },
  { command: 'npx saga projections rebuild order-summary', by: 'test/integration/cli.test.ts' },

  // docs/performance.md
  {
    command: 'npm run bench',
    prefix: true,
    by: 'test/integration/bench.test.ts (a tiny workload, with --built; a full run takes 9 minutes)',
  },
];

/** The entry that accounts for a command: an exact one first, else the longest prefix. */
function entryOf(command: string): Entry | undefined {
  return (
    ACCOUNTED.find((e) => !e.prefix && e.command === command) ??
    ACCOUNTED.filter((e) => e.prefix && command.startsWith(e.command)).sort(
      (a, b) => b.command.length - a.command.length,
    )[0]
  );
}

const commands = docCommands();

describe('shell commands in README.md and docs/', () => {
  it('reads a block as the shell would: comments dropped, continuations and quoted strings across lines joined', () => {
    const block = [
      "npm run chaos -- --transport rabbitmq  # the machine's RabbitMQ",
      '                                       # a comment-only line',
      'curl -s -X POST localhost:3000/orders \\',
      "  -d '{",
      '    "a": 1 # not a comment',
      "  }'",
      '',
      'npx saga --help',
    ].join('\n');
    expect(commandsOf(block, (n) => String(n)).map((c) => [c.where, c.command])).toEqual([
      ['1', 'npm run chaos -- --transport rabbitmq'],
      ['3', 'curl -s -X POST localhost:3000/orders \\\n  -d \'{\n    "a": 1 # not a comment\n  }\''],
      ['8', 'npx saga --help'],
    ]);
  });

  it('finds the commands of every shell block', () => {
    expect(commands.length).toBeGreaterThan(20);
    expect(commands.map((c) => c.command)).toEqual(expect.arrayContaining(['npm start', 'npm test']));
  });

  it('accounts for every command: run here, or the test that runs it, or why it cannot run here', () => {
    expect(commands.filter((c) => !entryOf(c.command)).map((c) => `${c.where}: ${c.command}`)).toEqual([]);
  });

  it('lists no command the docs no longer have', () => {
    const used = new Set(commands.map((c) => entryOf(c.command)));
    expect(ACCOUNTED.filter((e) => !used.has(e)).map((e) => e.command)).toEqual([]);
  });

  it('names test files that exist', () => {
    const named = ACCOUNTED.flatMap((e) => [...e.by.matchAll(/\btest\/[\w/.-]+\.test\.ts\b/g)].map((m) => m[0]));
    expect(named.filter((file) => !existsSync(path.join(ROOT, file)))).toEqual([]);
  });

  const runnable = [...new Set(commands.filter((c) => entryOf(c.command)?.by === 'run').map((c) => c.command))];

  it.each(runnable)(
    '%s: runs as written and exits 0',
    async (command) => {
      // `npx saga` runs the package's build; the first `npx saga` in a checkout would otherwise
      // rebuild it (npm runs the linked package's prepare script), half a minute.
      expect(existsSync(path.join(ROOT, 'dist', 'cli.js'))).toBe(true); // npm ci and npm run build make it
      const { stdout } = await run('sh', ['-c', command], {
        cwd: ROOT,
        env: { ...process.env, npm_config_ignore_scripts: 'true', npm_config_update_notifier: 'false' },
        timeout: 25_000,
      });
      expect(stdout).not.toBe('');
    },
    30_000,
  );
});
