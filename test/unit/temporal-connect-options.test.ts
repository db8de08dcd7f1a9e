import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { temporalConnectOptions } from '../../src/temporal/connect-options';

// Worker, API and CLI reach Temporal through the SDK's environment configuration: plain
// variables, Temporal Cloud's API key, TLS, and TOML profiles; the project's defaults otherwise.

const DEFAULTS = { address: '127.0.0.1:7233', namespace: 'default' };
const NO_FILE = { TEMPORAL_CONFIG_FILE: path.join(os.tmpdir(), 'no-such-temporal-config.toml') };

describe('temporalConnectOptions', () => {
  it('falls back to the project defaults when nothing is set', () => {
    const options = temporalConnectOptions(DEFAULTS, { ...NO_FILE });
    expect(options.connection.address).toBe('127.0.0.1:7233');
    expect(options.namespace).toBe('default');
    expect(options.connection.apiKey).toBeUndefined();
    expect(options.connection.tls).toBeFalsy();
  });

  it('takes address, namespace and a Temporal Cloud API key from the environment (TLS on with a key)', () => {
    const options = temporalConnectOptions(DEFAULTS, {
      ...NO_FILE,
      TEMPORAL_ADDRESS: 'my-ns.a1b2c.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'my-ns.a1b2c',
      TEMPORAL_API_KEY: 'secret-key',
    });
    expect(options.connection.address).toBe('my-ns.a1b2c.tmprl.cloud:7233');
    expect(options.namespace).toBe('my-ns.a1b2c');
    expect(options.connection.apiKey).toBe('secret-key');
    expect(options.connection.tls).toBeTruthy();
  });

  it('reads a profile from a TOML file (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE), with mTLS files', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'temporal-envconfig-'));
    try {
      writeFileSync(path.join(dir, 'client.pem'), 'CERT');
      writeFileSync(path.join(dir, 'client.key'), 'KEY');
      const file = path.join(dir, 'temporal.toml');
      writeFileSync(
        file,
        [
          '[profile.staging]',
          'address = "temporal.staging.internal:7233"',
          'namespace = "orders-staging"',
          '[profile.staging.tls]',
          `client_cert_path = "${path.join(dir, 'client.pem')}"`,
          `client_key_path = "${path.join(dir, 'client.key')}"`,
          '',
        ].join('\n'),
      );
      const options = temporalConnectOptions(DEFAULTS, { TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'staging' });
      expect(options.connection.address).toBe('temporal.staging.internal:7233');
      expect(options.namespace).toBe('orders-staging');
      const tls = options.connection.tls as { clientCertPair?: { crt: Uint8Array; key: Uint8Array } };
      expect(Buffer.from(tls.clientCertPair!.crt).toString()).toBe('CERT');
      expect(Buffer.from(tls.clientCertPair!.key).toString()).toBe('KEY');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
