import path from 'node:path';
import { CONSUMERS } from '../consumers';
import { defineConsumer, type ConsumerDefinition, type ConsumerOptions } from '../delivery/consumer';
import { registerEvents, type EventDefinition } from '../events/catalog';
import type { ExploreTarget } from '../explore/target';
import type { SagaDefinition, SagaActivities } from '../saga/definition';
import type { Pool } from '../store/pool';
import { SAGA_TABLES } from '../workflows/sagas';
import { registerAdapters, type AdapterRegistrations } from './adapters';
import { pluginSpecifiers } from './config';

/**
 * Plugins: how a team adds its own sagas, events, consumers and adapters without touching this
 * project's files. A plugin is a module whose default export is `definePlugin({ … })`; the
 * `saga` command loads the modules `SAGA_PLUGINS` names (comma-separated paths or package
 * names) before it reads its configuration, so every role (worker, relay, consumers, API,
 * `saga dev`) and every tool (catalog, replay, explore) sees the same registry.
 */

/** A saga a plugin brings: its table, its workflow module and its activities. */
export interface PluginSaga {
  /** The saga's table (`defineSaga`): explore's scenarios, the docs' flows and the saga metrics read it. */
  // The table's own type parameters do not matter here; any table is accepted.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  definition: SagaDefinition<any, any, SagaActivities, any>;
  /** The module exporting the saga's workflow function (`require.resolve('./booking.workflow')`). */
  workflowsPath: string;
  /** Its activities, built once per worker from the worker's database pool. */
  activities: (deps: { pool: Pool }) => object;
  /** The task queue its worker polls. Default: the saga's name. */
  taskQueue?: string;
  /** How `saga explore <name>` starts and finishes a run (the table and the worker come from above). */
  explore?: Omit<ExploreTarget, 'saga' | 'worker'>;
}

export interface SagaPluginOptions {
  /** Names the plugin in errors and logs. */
  name: string;
  /** Event types its sagas append: a zod schema per version, upcasters, producer, consumers. */
  events?: readonly EventDefinition[];
  /** Consumers the delivery roles run besides the project's (defined once the events are registered). */
  consumers?: readonly ConsumerOptions[];
  /** Adapters by name, chosen with PAYMENT_ADAPTER / CARRIER_ADAPTER. */
  adapters?: AdapterRegistrations;
  /** Sagas the worker role runs, each on its own task queue. */
  sagas?: readonly PluginSaga[];
}

/** What `definePlugin` returns: the options, checked; installed by `installPlugins`. */
export interface SagaPlugin extends Required<Omit<SagaPluginOptions, 'adapters'>> {
  adapters: AdapterRegistrations;
  readonly kind: 'saga-orchestrator/plugin';
}

/** A plugin could not be loaded or does not fit with what is registered already. */
export class PluginError extends Error {
  override readonly name = 'PluginError';
}

/** Declares a plugin (pure: nothing is registered until the `saga` command installs it). */
export function definePlugin(options: SagaPluginOptions): SagaPlugin {
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(options.name ?? '')) {
    throw new PluginError(`Plugin name "${options.name}" must be lower-case letters, digits and dashes`);
  }
  return {
    kind: 'saga-orchestrator/plugin',
    name: options.name,
    events: options.events ?? [],
    consumers: options.consumers ?? [],
    adapters: options.adapters ?? {},
    sagas: options.sagas ?? [],
  };
}

interface Installed {
  plugins: SagaPlugin[];
  consumers: ConsumerDefinition[];
}
const installed: Installed = { plugins: [], consumers: [] };

/**
 * Registers plugins in this process: their events into the catalog first (the consumers'
 * handled types are checked against it), then their consumers, adapters and sagas. A name
 * that is taken (event type, consumer, adapter, saga, task queue) is refused.
 */
export function installPlugins(plugins: readonly SagaPlugin[]): void {
  for (const plugin of plugins) {
    if (installed.plugins.some((p) => p.name === plugin.name)) continue; // the same module named twice
    const fail = (message: string) => new PluginError(`Plugin ${plugin.name}: ${message}`);
    const taken = new Set([...registeredSagas().map((s) => s.name), ...registeredConsumers().map((c) => c.name)]);
    for (const saga of plugin.sagas) {
      if (taken.has(saga.definition.name)) throw fail(`saga ${saga.definition.name} is already registered`);
    }
    for (const consumer of plugin.consumers) {
      if (taken.has(consumer.name)) throw fail(`consumer ${consumer.name} is already registered`);
    }
    try {
      registerEvents(plugin.events);
      const consumers = plugin.consumers.map(defineConsumer);
      registerAdapters(plugin.adapters);
      installed.consumers.push(...consumers);
    } catch (err) {
      throw fail((err as Error).message);
    }
    installed.plugins.push(plugin);
  }
}

/** Every consumer this process knows: the project's, then the plugins'. */
export const registeredConsumers = (): readonly ConsumerDefinition[] => [...CONSUMERS, ...installed.consumers];

/** The plugins' sagas (the project's own run on the main task queue). */
export const pluginSagas = (): readonly (PluginSaga & { taskQueue: string })[] =>
  installed.plugins.flatMap((p) => p.sagas.map((s) => ({ ...s, taskQueue: s.taskQueue ?? s.definition.name })));

/** Every saga table: the project's and the plugins'. */
export const registeredSagas = (): readonly SagaDefinition<never, never>[] => [
  ...(SAGA_TABLES as readonly SagaDefinition<never, never>[]),
  ...pluginSagas().map((s) => s.definition as SagaDefinition<never, never>),
];

/** The event types the plugins registered (a team's own catalog: its docs and its gate). */
export const pluginEvents = (): readonly EventDefinition[] => installed.plugins.flatMap((p) => p.events);

export const installedPlugins = (): readonly SagaPlugin[] => [...installed.plugins];

/**
 * Loads plugin modules: a path (relative to `cwd`) or a package name resolved from `cwd`.
 * The module's default export (or its `plugin` export) must be a `definePlugin` result.
 */
export function loadPlugins(specifiers: readonly string[], cwd: string = process.cwd()): SagaPlugin[] {
  return specifiers.map((specifier) => {
    const request = /^\.{1,2}([/\\]|$)/.test(specifier) ? path.resolve(cwd, specifier) : specifier;
    let resolved: string;
    try {
      // This module's own `require`: under tsx or jest it loads a TypeScript plugin too.
      resolved = require.resolve(request, { paths: [path.resolve(cwd)] });
    } catch {
      throw new PluginError(`SAGA_PLUGINS: cannot find the module ${specifier} (from ${path.resolve(cwd)})`);
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const loaded = require(resolved) as Record<string, unknown>;
    // `export default` compiled to CommonJS sits on `.default`; a plain CommonJS module may export it whole.
    const candidate = [loaded.default, loaded.plugin, loaded].find(isPlugin);
    if (!candidate) {
      throw new PluginError(`SAGA_PLUGINS: ${specifier} does not export a plugin (export default definePlugin({ … }))`);
    }
    return candidate;
  });
}

const isPlugin = (value: unknown): value is SagaPlugin =>
  Boolean(value && typeof value === 'object' && (value as SagaPlugin).kind === 'saga-orchestrator/plugin');

/** Loads and installs the plugins `SAGA_PLUGINS` names (what the `saga` command does first). */
export function installPluginsFromEnv(env: NodeJS.ProcessEnv = process.env, cwd?: string): SagaPlugin[] {
  const plugins = loadPlugins(pluginSpecifiers(env.SAGA_PLUGINS), cwd);
  installPlugins(plugins);
  return plugins;
}
