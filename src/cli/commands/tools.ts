/** Tools: failure-point exploration, the event catalog and its gate, the Temporal binaries. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { buildLock, checkCatalog, readLock, readSamples, REPO_ROOT, writeLock } from '../../events/catalog-check';
import { EVENT_DEFINITIONS, type EventDefinition } from '../../events/catalog';
import { installedPlugins, pluginEvents, pluginSagas, registeredConsumers } from '../../processes/plugins';
import type { SagaDefinition } from '../../saga/definition';
import type * as Explore from '../explore-command';
import type * as CatalogDocs from '../../docs/catalog-docs';
import type * as TopologyDocs from '../../docs/topology-docs';
import type * as Replay from '../../processes/replay';
import type * as TemporalWorker from '@temporalio/worker';
import { resolveTemporalServer } from '../../temporal/server-binary';
import { resolveTemporalCli } from '../../temporal/cli-binary';
import { ensurePayloadKeyFile, optionalDataConverterOf } from '../../processes/payload-keys';
import { generatePayloadKey, PayloadKeyError } from '../../temporal/payload-codec';
import { databaseUrlOrLocalStack, run, UsageError } from '../run';

// What one command alone runs is loaded in its action (`require`, typed by the imports above).
const explore = (): typeof Explore => require('../explore-command');
const catalogDocsModule = (): typeof CatalogDocs => require('../../docs/catalog-docs');
const topologyDocsModule = (): typeof TopologyDocs => require('../../docs/topology-docs');
const replay = (): typeof Replay => require('../../processes/replay');
const temporalWorker = (): typeof TemporalWorker => require('@temporalio/worker');

/**
 * What `saga catalog` documents and gates: with plugins named, their events and sagas (and
 * every consumer the team runs) in the folder it runs in, a team's project; otherwise this
 * project's own, in this repository.
 */
function catalogScope(): {
  root: string;
  definitions: readonly EventDefinition[];
  docs: { path: string; content: string }[];
} {
  const { catalogDocs, scopeDocs } = catalogDocsModule();
  if (installedPlugins().length === 0) {
    const { topologyDocs } = topologyDocsModule();
    return { root: REPO_ROOT, definitions: EVENT_DEFINITIONS, docs: [...catalogDocs(), ...topologyDocs()] };
  }
  const definitions = pluginEvents();
  const sagas = pluginSagas().map((s) => s.definition as SagaDefinition<never, never>);
  return {
    root: process.cwd(),
    definitions,
    docs: scopeDocs({ definitions, sagas, consumers: registeredConsumers() }),
  };
}

export function registerToolCommands(program: Command): void {
  program
    .command('explore <saga>')
    .description(
      "Run every failure point of a saga (orderSaga, returnSaga, or a plugin's) on the real stack; print the step × fault matrix",
    )
    .option('--quick', 'one scenario of each fault kind only')
    .option('--concurrency <n>', 'scenarios at once (default 4)', (v) => Number(v))
    .option('--json <file>', 'also write the report as JSON')
    .option('--markdown <file>', 'also write the matrix as Markdown')
    .action((saga: string, options: Explore.ExploreCommandOptions) =>
      run(async (config) => {
        const { exploreCommand } = explore();
        const ok = await exploreCommand(config, databaseUrlOrLocalStack(config), saga, options);
        process.exit(ok ? 0 : 1);
      }),
    );

  program
    .command('catalog')
    .description(
      'Write the generated docs: the event catalog (docs/events.md, docs/asyncapi.yaml) and the broker topology ' +
        "(docs/topology.md); with SAGA_PLUGINS, of the plugins' events in the current folder",
    )
    .option('--check', 'only check: the compatibility gate and that the docs are current; exit 1 on problems')
    .option('--update-lock', 'release the current catalog: rewrite events.lock.json deliberately')
    .action((options: { check?: boolean; updateLock?: boolean }) =>
      run(async () => {
        const { root, definitions, docs } = catalogScope();
        const lockFile = path.join(root, 'events.lock.json');
        if (options.updateLock) {
          writeLock(buildLock(definitions), lockFile);
          process.stdout.write(`Wrote ${path.relative(process.cwd(), lockFile) || lockFile}.\n`);
        }
        if (options.check) {
          const problems = [
            ...checkCatalog({
              definitions,
              lock: readLock(lockFile),
              samples: readSamples(path.join(root, 'test/fixtures/events')),
            }),
            ...docs
              .filter(
                (d) =>
                  !existsSync(path.join(root, d.path)) || readFileSync(path.join(root, d.path), 'utf8') !== d.content,
              )
              .map((d) => `${d.path} is stale: run \`saga catalog\``),
          ];
          if (problems.length) {
            process.stderr.write(`Event catalog check failed:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
            process.exit(1);
          }
          process.stdout.write('Event catalog is compatible and its docs are current.\n');
          return;
        }
        for (const d of docs) {
          mkdirSync(path.dirname(path.join(root, d.path)), { recursive: true });
          writeFileSync(path.join(root, d.path), d.content);
        }
        process.stdout.write(`Wrote ${docs.map((d) => d.path).join(', ')}.\n`);
      }),
    );

  program
    .command('replay <paths...>')
    .description(
      'Replay recorded histories (JSON of `temporal workflow show --output json`; folders searched) against ' +
        "today's workflow code, the project's or a plugin's; exit 1 on nondeterminism",
    )
    .action((paths: string[]) =>
      run(async (config) => {
        const { DefaultLogger, Runtime } = temporalWorker();
        const { replayHistoryFiles } = replay();
        // The bundler's progress lines are noise in a gate's output; warnings still show.
        Runtime.install({ logger: new DefaultLogger('WARN') });
        const missing = paths.filter((p) => !existsSync(p));
        if (missing.length) throw new UsageError(`no such file or folder: ${missing.join(', ')}`);
        const outcomes = await replayHistoryFiles(paths, { dataConverter: optionalDataConverterOf(config) });
        if (outcomes.length === 0) throw new UsageError(`no .json history in ${paths.join(', ')}`);
        for (const o of outcomes) {
          process.stdout.write(
            `${o.error ? 'FAIL' : 'ok  '} ${o.file} (${o.workflowType})${o.error ? `: ${o.error}` : ''}\n`,
          );
        }
        const failed = outcomes.filter((o) => o.error).length;
        process.stdout.write(`${outcomes.length - failed} of ${outcomes.length} histories replayed cleanly.\n`);
        process.exit(failed ? 1 : 0);
      }),
    );

  program
    .command('payload-key')
    .description(
      'Print a new payload encryption key (id:base64key) for PAYLOAD_KEYS; with --file, create that key file ' +
        'once (owner-only) and leave an existing one as it is',
    )
    .option('--id <id>', 'the key id (letters, digits, . _ -); default key-<yyyymmdd>')
    .option('--file <path>', 'create this key file unless it exists (what docker-compose and saga dev do)')
    .action((options: { id?: string; file?: string }) =>
      run(async () => {
        try {
          if (!options.file) {
            process.stdout.write(`${generatePayloadKey(options.id)}\n`);
            return;
          }
          const { file, created } = ensurePayloadKeyFile(path.resolve(options.file), options.id);
          process.stdout.write(`${created ? 'Created' : 'Kept the existing'} payload key file ${file}.\n`);
        } catch (err) {
          if (err instanceof PayloadKeyError) throw new UsageError(err.message);
          throw err;
        }
      }),
    );

  program
    .command('temporal-cli')
    .description('Print the Temporal CLI path, building it with Go into the cache if needed')
    .action(() =>
      run(async (config) => {
        const cli = await resolveTemporalCli({ explicitPath: config.temporal.cliPath, allowSdkDownload: false });
        process.stdout.write(`${cli.path}\n`);
      }),
    );

  program
    .command('temporal-server')
    .description(
      'Print the Temporal server (on PostgreSQL), schema tool and Web UI server paths, building them with Go if needed',
    )
    .action(() =>
      run(async () => {
        const binaries = await resolveTemporalServer();
        process.stdout.write(`${binaries.server}\n${binaries.sqlTool}\n${binaries.ui}\n`);
      }),
    );
}
