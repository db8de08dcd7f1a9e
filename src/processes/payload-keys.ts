import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DataConverter } from '@temporalio/common';
import {
  encryptionDataConverter,
  generatePayloadKey,
  parsePayloadKeys,
  type PayloadKeyring,
} from '../temporal/payload-codec';
import { ConfigError, type Config } from './config';

/** The development key file `saga dev` and `saga cluster up` create in their data folder. */
export const devPayloadKeyFile = (dataDir: string): string => path.join(dataDir, 'payload-keys');

/**
 * Creates `file` with one random key, readable by its owner only, unless it exists: the keys
 * must outlive every run that used them, so an existing file is never rewritten.
 */
export function ensurePayloadKeyFile(file: string, keyId = 'dev-1'): { file: string; created: boolean } {
  if (existsSync(file)) return { file, created: false };
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    writeFileSync(
      file,
      `# Payload encryption keys (id:base64key), the last is current. Never commit; keep old keys.\n${generatePayloadKey(keyId)}\n`,
      { mode: 0o600, flag: 'wx' },
    );
    return { file, created: true };
  } catch (err) {
    // Another process created it between the check and the write: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { file, created: false };
    throw err;
  }
}

function parseOrExplain(text: string, currentKeyId: string | undefined, variable: string): PayloadKeyring {
  try {
    return parsePayloadKeys(text, currentKeyId);
  } catch (err) {
    const message = (err as Error).message;
    throw new ConfigError([
      { variable: currentKeyId && /current key/.test(message) ? 'PAYLOAD_KEY_ID' : variable, message },
    ]);
  }
}

/**
 * The keyring of this process: PAYLOAD_KEYS, else PAYLOAD_KEY_FILE, else (with `devKeyFile`)
 * the given file. None: a ConfigError naming PAYLOAD_KEYS, since no process may talk to
 * Temporal in clear text.
 */
export function payloadKeyringOf(config: Config, options: { devKeyFile?: string } = {}): PayloadKeyring {
  const { keys, currentKeyId, file } = config.payloadKeys;
  if (keys) return parseOrExplain(keys, currentKeyId, 'PAYLOAD_KEYS');
  const keyFile = file ?? (options.devKeyFile && existsSync(options.devKeyFile) ? options.devKeyFile : undefined);
  if (keyFile) {
    let text: string;
    try {
      text = readFileSync(keyFile, 'utf8');
    } catch (err) {
      throw new ConfigError([
        { variable: 'PAYLOAD_KEY_FILE', message: `cannot read ${keyFile}: ${(err as Error).message}` },
      ]);
    }
    return parseOrExplain(text, currentKeyId, file ? 'PAYLOAD_KEY_FILE' : 'PAYLOAD_KEYS');
  }
  throw new ConfigError([
    {
      variable: 'PAYLOAD_KEYS',
      message:
        'is required: payloads sent to Temporal are encrypted. Set PAYLOAD_KEYS=id:base64key (32 random bytes, e.g. `openssl rand -base64 32`) or PAYLOAD_KEY_FILE (docs/operations.md, "Payload encryption")',
    },
  ]);
}

/**
 * For reading histories only (`saga replay`): the keys when there are any, else none, so
 * histories recorded in clear text replay anywhere; an encrypted one then fails naming its key.
 */
export function optionalDataConverterOf(config: Config): DataConverter | undefined {
  const { keys, file } = config.payloadKeys;
  if (!keys && !file && !existsSync(devPayloadKeyFile(config.dataDir))) return undefined;
  return dataConverterOf(config);
}

/**
 * The data converter of a command run beside `saga dev` or alone: the configured keys, else
 * the local stack's key file in DATA_DIR.
 */
export function dataConverterOf(config: Config): DataConverter {
  return encryptionDataConverter(payloadKeyringOf(config, { devKeyFile: devPayloadKeyFile(config.dataDir) }));
}
