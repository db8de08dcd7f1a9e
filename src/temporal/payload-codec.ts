import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';

/**
 * Payload encryption: every payload the project hands Temporal (workflow input, activity
 * arguments and results, signals, updates, queries, memos) is sealed with AES-256-GCM before it
 * leaves the process, so Temporal's histories, its database and its UI hold ciphertext only.
 * Each sealed payload names its key, so keys rotate: new payloads use the current key, older
 * ones stay readable as long as their key is kept in the keyring.
 */

/** Metadata `encoding` of a sealed payload. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** Metadata naming the key that sealed a payload. */
export const KEY_ID_METADATA = 'encryption-key-id';

const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The keys a process may decrypt with, and the one it encrypts with. */
export interface PayloadKeyring {
  readonly currentKeyId: string;
  readonly keys: ReadonlyMap<string, Buffer>;
}

/** A keyring that cannot be built: bad key text, a wrong length, an unknown current id. */
export class PayloadKeyError extends Error {
  override readonly name = 'PayloadKeyError';
}

/** A sealed payload names a key this process does not have: it is never decoded as something else. */
export class UnknownPayloadKeyError extends Error {
  override readonly name = 'UnknownPayloadKeyError';
  constructor(readonly keyId: string) {
    super(
      `payload is encrypted with key "${keyId}", which is not in this process's keyring (PAYLOAD_KEYS / PAYLOAD_KEY_FILE); ` +
        'keep retired keys listed until no open workflow needs them',
    );
  }
}

/** A sealed payload fails authentication (tampered with, truncated, or sealed under another key of that id). */
export class PayloadDecryptionError extends Error {
  override readonly name = 'PayloadDecryptionError';
}

/**
 * Parses `id:base64key` entries separated by commas or new lines (`#` starts a comment line)
 * into a keyring. The current key is `currentKeyId` when given, else the last entry, so a
 * rotation appends a key.
 */
export function parsePayloadKeys(text: string, currentKeyId?: string): PayloadKeyring {
  const keys = new Map<string, Buffer>();
  const entries = text
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .flatMap((line) => line.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  for (const entry of entries) {
    const colon = entry.indexOf(':');
    const id = colon > 0 ? entry.slice(0, colon) : '';
    if (!KEY_ID.test(id)) throw new PayloadKeyError('each key is id:base64key with an id of letters, digits, . _ -');
    const key = Buffer.from(entry.slice(colon + 1), 'base64');
    if (key.length !== KEY_BYTES) {
      throw new PayloadKeyError(
        `key "${id}" is ${key.length} bytes; AES-256 needs ${KEY_BYTES} (base64 of 32 random bytes)`,
      );
    }
    if (keys.has(id)) throw new PayloadKeyError(`key "${id}" is listed twice`);
    keys.set(id, key);
  }
  if (keys.size === 0) throw new PayloadKeyError('no key: give at least one id:base64key');
  const current = currentKeyId ?? [...keys.keys()].at(-1)!;
  if (!keys.has(current)) {
    throw new PayloadKeyError(`the current key "${current}" is not among the keys (${[...keys.keys()].join(', ')})`);
  }
  return { currentKeyId: current, keys };
}

/** A new key entry `id:base64key` (32 random bytes); the id defaults to `key-<yyyymmdd>`. */
export function generatePayloadKey(id = `key-${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`): string {
  if (!KEY_ID.test(id)) throw new PayloadKeyError(`not a key id: ${id}`);
  return `${id}:${randomBytes(KEY_BYTES).toString('base64')}`;
}

/** The plain payload inside the ciphertext: its metadata and data, base64 in JSON. */
interface Envelope {
  m: Record<string, string>;
  d: string;
}

const b64 = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? new Uint8Array()).toString('base64');

function wrap(payload: Payload): Buffer {
  const m: Record<string, string> = {};
  for (const [k, v] of Object.entries(payload.metadata ?? {})) m[k] = b64(v);
  return Buffer.from(JSON.stringify({ m, d: b64(payload.data) } satisfies Envelope));
}

function unwrap(bytes: Buffer): Payload {
  const envelope = JSON.parse(bytes.toString('utf8')) as Envelope;
  return {
    metadata: Object.fromEntries(Object.entries(envelope.m).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(envelope.d, 'base64'),
  };
}

const text = (bytes: Uint8Array | null | undefined) => (bytes ? Buffer.from(bytes).toString('utf8') : undefined);

/** Whether a payload is sealed by this codec. */
export const isEncrypted = (payload: Payload): boolean => text(payload.metadata?.encoding) === ENCRYPTED_ENCODING;

/**
 * AES-256-GCM with a random 12-byte IV per payload; data = IV ‖ ciphertext ‖ tag, the key id
 * bound in as additional data. Payloads that are not sealed (histories recorded before
 * encryption, runs started without it) decode as they are.
 */
export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly keyring: PayloadKeyring) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const keyId = this.keyring.currentKeyId;
    const key = this.keyring.keys.get(keyId)!;
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv(ALGORITHM, key, iv);
      cipher.setAAD(Buffer.from(keyId));
      const sealed = Buffer.concat([iv, cipher.update(wrap(payload)), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { encoding: Buffer.from(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: Buffer.from(keyId) },
        data: sealed,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (!isEncrypted(payload)) return payload;
      const keyId = text(payload.metadata?.[KEY_ID_METADATA]) ?? '';
      const key = this.keyring.keys.get(keyId);
      if (!key) throw new UnknownPayloadKeyError(keyId);
      const data = Buffer.from(payload.data ?? new Uint8Array());
      if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadDecryptionError('encrypted payload is truncated');
      try {
        const decipher = createDecipheriv(ALGORITHM, key, data.subarray(0, IV_BYTES));
        decipher.setAAD(Buffer.from(keyId));
        decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
        const plain = Buffer.concat([
          decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
          decipher.final(),
        ]);
        return unwrap(plain);
      } catch (err) {
        throw new PayloadDecryptionError(
          `encrypted payload (key "${keyId}") fails authentication: ${(err as Error).message}`,
        );
      }
    });
  }
}

/** The data converter every client, worker and replayer of the project uses. */
export function encryptionDataConverter(keyring: PayloadKeyring): DataConverter {
  return { payloadCodecs: [new EncryptionCodec(keyring)] };
}
