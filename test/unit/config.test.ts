import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/processes/config';

describe('loadConfig', () => {
  it('applies documented defaults to an empty environment', () => {
    const config = loadConfig({});
    expect(config.databaseUrl).toBeUndefined();
    expect(config.temporal).toEqual({
      address: '127.0.0.1:7233',
      namespace: 'default',
      uiPort: 8233,
      cliPath: undefined,
      taskQueue: 'orders',
      workflowBundle: undefined,
    });
    expect(config.api.port).toBe(3000);
    expect(config.dataDir).toBe(path.resolve('.data'));
  });

  it('returns a frozen object, nested parts included', () => {
    const config = loadConfig({ PORT: '4000' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.temporal)).toBe(true);
    expect(config.api.port).toBe(4000);
  });

  it('names every invalid variable in one error', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', TEMPORAL_ADDRESS: 'localhost', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const variables = (error as ConfigError).issues.map((i) => i.variable).sort();
    expect(variables).toEqual(['DATABASE_URL', 'LOG_LEVEL', 'PORT', 'TEMPORAL_ADDRESS']);
    expect((error as Error).message).toMatch(/PORT: /);
  });

  it('treats an empty broker URL as unset', () => {
    expect(loadConfig({ AMQP_URL: '', NATS_URL: '' })).toMatchObject({ amqpUrl: undefined, natsUrl: undefined });
    expect(loadConfig({ AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672' }).amqpUrl).toBe(
      'amqp://guest:guest@127.0.0.1:5672',
    );
  });

  it('API keys: parsed with their roles; a bad entry names API_KEYS; the host follows', () => {
    const keys = 'alice:customer:customer-key-0123456789,ops:operator:operator-key-0123456789';
    expect(loadConfig({ API_KEYS: keys }).api).toMatchObject({
      host: '0.0.0.0',
      apiKeys: [
        { name: 'alice', role: 'customer' },
        { name: 'ops', role: 'operator' },
      ],
    });
    // No keys: an open API, on loopback only, and a public HOST is refused.
    expect(loadConfig({}).api).toMatchObject({ host: '127.0.0.1', apiKeys: [], trustProxy: false });
    expect(loadConfig({ TRUST_PROXY: 'true' }).api.trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8,127.0.0.1' }).api.trustProxy).toBe('10.0.0.0/8,127.0.0.1');
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(/HOST: an open API \(no API_KEYS\) listens on loopback only/);
    for (const bad of [
      'alice:admin:customer-key-0123456789',
      'alice:customer:short',
      'a b:customer:customer-key-0123456789',
    ]) {
      expect(() => loadConfig({ API_KEYS: bad })).toThrow(/API_KEYS: entry 1/);
    }
    expect(() => loadConfig({ API_KEYS: `${keys},alice:operator:another-key-0123456789` })).toThrow(
      /alice appears twice/,
    );
  });

  it('SHUTDOWN_DELAY: a duration, 0 by default, in milliseconds; anything else names the variable', () => {
    expect(loadConfig({}).shutdownDelayMs).toBe(0);
    expect(loadConfig({ SHUTDOWN_DELAY: '1500ms' }).shutdownDelayMs).toBe(1500);
    expect(loadConfig({ SHUTDOWN_DELAY: '5s' }).shutdownDelayMs).toBe(5000);
    expect(loadConfig({ SHUTDOWN_DELAY: '2 minutes' }).shutdownDelayMs).toBe(120_000);
    expect(loadConfig({ SHUTDOWN_DELAY: '1 hour' }).shutdownDelayMs).toBe(3_600_000);
    expect(() => loadConfig({ SHUTDOWN_DELAY: 'soon' })).toThrow(/SHUTDOWN_DELAY: must be a duration/);
    expect(() => loadConfig({ SHUTDOWN_DELAY: '5' })).toThrow(/SHUTDOWN_DELAY/);
  });

  it('TAKEOVER_AFTER: a duration of at least 1s, 10s by default', () => {
    expect(loadConfig({}).takeoverAfterMs).toBe(10_000);
    expect(loadConfig({ TAKEOVER_AFTER: '30s' }).takeoverAfterMs).toBe(30_000);
    expect(loadConfig({ TAKEOVER_AFTER: '1500ms' }).takeoverAfterMs).toBe(1500);
    expect(() => loadConfig({ TAKEOVER_AFTER: '200ms' })).toThrow(/TAKEOVER_AFTER: must be at least 1s/);
    expect(() => loadConfig({ TAKEOVER_AFTER: 'later' })).toThrow(/TAKEOVER_AFTER: must be a duration/);
  });

  it('TRANSPORT needs its broker URL', () => {
    expect(() => loadConfig({ TRANSPORT: 'rabbitmq' })).toThrow(/AMQP_URL: is required when TRANSPORT=rabbitmq/);
    expect(() => loadConfig({ TRANSPORT: 'nats' })).toThrow(/NATS_URL: is required when TRANSPORT=nats/);
    expect(() => loadConfig({ TRANSPORT: 'kafka' })).toThrow(/TRANSPORT/);
  });

  it('adapters are chosen by name; an unknown one names its variable', () => {
    expect(loadConfig({}).adapters).toEqual({ payment: 'simulator', carrier: 'simulator' });
    expect(() => loadConfig({ PAYMENT_ADAPTER: 'acme' })).toThrow(/PAYMENT_ADAPTER/);
    expect(() => loadConfig({ CARRIER_ADAPTER: 'pigeon' })).toThrow(/CARRIER_ADAPTER/);
  });
});
