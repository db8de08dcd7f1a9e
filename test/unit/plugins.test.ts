import path from 'node:path';
import { eventDefinition } from '../../src/events/catalog';
import { UnknownEventTypeError } from '../../src/events/errors';
import { activityDeps, adapterNames } from '../../src/processes/adapters';
import { ConfigError, loadConfig } from '../../src/processes/config';
import {
  definePlugin,
  installPlugins,
  installPluginsFromEnv,
  loadPlugins,
  pluginEvents,
  PluginError,
  registeredConsumers,
} from '../../src/processes/plugins';

// A team's plugin (test/fixtures/plugins/acme.plugin.ts) loaded the way the `saga` command
// loads it: by SAGA_PLUGINS, before the configuration is read.

const FIXTURES = path.resolve(__dirname, '../fixtures/plugins');

describe('plugins', () => {
  it('are refused with a clear message when the module is missing or exports no plugin', () => {
    expect(() => loadPlugins(['./nope.plugin.js'], FIXTURES)).toThrow(
      /SAGA_PLUGINS: cannot find the module \.\/nope\.plugin\.js/,
    );
    expect(() => loadPlugins([path.resolve(__dirname, '../../src/util/wait.ts')], FIXTURES)).toThrow(
      /does not export a plugin \(export default definePlugin/,
    );
    expect(() => definePlugin({ name: 'Not OK' })).toThrow(PluginError);
  });

  it('are unknown to the process until installed', () => {
    expect(() => eventDefinition('acme.audited')).toThrow(UnknownEventTypeError);
    expect(adapterNames('payment')).toEqual(['simulator']);
    expect(() => loadConfig({ PAYMENT_ADAPTER: 'acme' })).toThrow(
      /PAYMENT_ADAPTER: no such adapter; registered: simulator/,
    );
  });

  it('register their events, consumers and adapters from SAGA_PLUGINS', () => {
    const [plugin] = installPluginsFromEnv({ SAGA_PLUGINS: ' ./acme.plugin.ts , ' }, FIXTURES);
    expect(plugin!.name).toBe('acme');
    expect(eventDefinition('acme.audited').aggregateType).toBe('acme');
    expect(pluginEvents().map((d) => d.type)).toEqual(['acme.audited']);
    expect(registeredConsumers().map((c) => c.name)).toEqual(['order-summary', 'notifier', 'acme-auditor']);
    expect([...registeredConsumers().at(-1)!.handles]).toEqual(['acme.audited', 'order.confirmed']);
    expect(adapterNames('payment')).toEqual(['simulator', 'acme']);
    expect(adapterNames('carrier')).toEqual(['simulator', 'acme-post']);
    const config = loadConfig({
      PAYMENT_ADAPTER: 'acme',
      CARRIER_ADAPTER: 'acme-post',
      SAGA_PLUGINS: './acme.plugin.ts',
    });
    expect(config.adapters).toEqual({ payment: 'acme', carrier: 'acme-post' });
    expect(config.plugins).toEqual(['./acme.plugin.ts']);
    expect(Object.keys(activityDeps({} as never, config.adapters).paymentGateway)).toEqual([
      'authorize',
      'capture',
      'void',
      'refund',
    ]);
    // The same module named again is the same plugin: nothing registered twice.
    installPluginsFromEnv({ SAGA_PLUGINS: './acme.plugin.ts' }, FIXTURES);
    expect(registeredConsumers()).toHaveLength(3);
  });

  it('refuse what clashes with what is registered, naming the plugin', () => {
    const clash = (options: Parameters<typeof definePlugin>[0]) => () => installPlugins([definePlugin(options)]);
    expect(
      clash({ name: 'b', consumers: [{ name: 'notifier', handles: ['order.created'], handle: async () => {} }] }),
    ).toThrow('Plugin b: consumer notifier is already registered');
    expect(clash({ name: 'c', adapters: { payment: { acme: () => ({}) as never } } })).toThrow(
      'Plugin c: the payment adapter acme is already registered',
    );
    expect(
      clash({ name: 'd', consumers: [{ name: 'd-reader', handles: ['d.unknown'], handle: async () => {} }] }),
    ).toThrow(/Plugin d: .*d\.unknown/);
    expect(
      clash({
        name: 'e',
        events: [
          {
            type: 'order.created',
            aggregateType: 'order',
            description: '',
            producer: '',
            consumers: [],
            compensation: false,
            versions: [],
          },
        ],
      }),
    ).toThrow('Plugin e: Event type order.created is already in the catalog');
    expect(() => loadConfig({ PAYMENT_ADAPTER: 'nope' })).toThrow(ConfigError);
  });
});
