import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { ConfigError, loadConfig } from '../../src/processes/config';
import { dataConverterOf, ensurePayloadKeyFile, payloadKeyringOf } from '../../src/processes/payload-keys';
import {
  ENCRYPTED_ENCODING,
  EncryptionCodec,
  generatePayloadKey,
  KEY_ID_METADATA,
  parsePayloadKeys,
  PayloadDecryptionError,
  PayloadKeyError,
  UnknownPayloadKeyError,
} from '../../src/temporal/payload-codec';

const KEY_A = generatePayloadKey('a');
const KEY_B = generatePayloadKey('b');
const ORDER = {
  orderId: 'o-1',
  shippingAddress: { line1: '1 Secret Lane', city: 'Hiddenville' },
  paymentToken: 'tok_x',
};
const plain = (value: unknown): Payload => defaultPayloadConverter.toPayload(value)!;
const meta = (p: Payload, key: string) => Buffer.from(p.metadata![key]!).toString();

describe('EncryptionCodec', () => {
  it('seals payloads under the current key, naming it, with no clear text left', async () => {
    const codec = new EncryptionCodec(parsePayloadKeys(`${KEY_A},${KEY_B}`, 'a'));
    const [sealed] = await codec.encode([plain(ORDER)]);
    expect(meta(sealed!, 'encoding')).toBe(ENCRYPTED_ENCODING);
    expect(meta(sealed!, KEY_ID_METADATA)).toBe('a');
    expect(Buffer.from(sealed!.data!).toString('latin1')).not.toMatch(/Secret|json\/plain|tok_x/);
    const [opened] = await codec.decode([sealed!]);
    expect(defaultPayloadConverter.fromPayload(opened!)).toEqual(ORDER);
  });

  it('uses a fresh IV per payload: the same value seals differently', async () => {
    const codec = new EncryptionCodec(parsePayloadKeys(KEY_A));
    const [one, two] = await codec.encode([plain(ORDER), plain(ORDER)]);
    expect(Buffer.from(one!.data!).equals(Buffer.from(two!.data!))).toBe(false);
  });

  it('rotates: after moving to B, payloads under A still open while A is kept', async () => {
    const before = new EncryptionCodec(parsePayloadKeys(KEY_A));
    const after = new EncryptionCodec(parsePayloadKeys(`${KEY_A}\n${KEY_B}`));
    const [underA] = await before.encode([plain(ORDER)]);
    const [underB] = await after.encode([plain('new')]);
    expect(meta(underB!, KEY_ID_METADATA)).toBe('b');
    const opened = await after.decode([underA!, underB!]);
    expect(opened.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual([ORDER, 'new']);
  });

  it('fails loudly on a key it does not hold, never decoding something else', async () => {
    const [underA] = await new EncryptionCodec(parsePayloadKeys(KEY_A)).encode([plain(ORDER)]);
    const onlyB = new EncryptionCodec(parsePayloadKeys(KEY_B));
    await expect(onlyB.decode([underA!])).rejects.toThrow(UnknownPayloadKeyError);
    await expect(onlyB.decode([underA!])).rejects.toThrow(/key "a".*not in this process's keyring/);
  });

  it('refuses a payload tampered with or sealed by another key of the same id', async () => {
    const codec = new EncryptionCodec(parsePayloadKeys(KEY_A));
    const [sealed] = await codec.encode([plain(ORDER)]);
    const data = Buffer.from(sealed!.data!);
    data[20] = data[20]! ^ 1;
    await expect(codec.decode([{ ...sealed!, data }])).rejects.toThrow(PayloadDecryptionError);
    const impostor = new EncryptionCodec(parsePayloadKeys(generatePayloadKey('a')));
    await expect(impostor.decode([sealed!])).rejects.toThrow(PayloadDecryptionError);
    await expect(codec.decode([{ ...sealed!, data: data.subarray(0, 10) }])).rejects.toThrow(/truncated/);
  });

  it('passes payloads that are not sealed through (histories recorded before encryption)', async () => {
    const codec = new EncryptionCodec(parsePayloadKeys(KEY_A));
    const clear = plain(ORDER);
    expect(await codec.decode([clear])).toEqual([clear]);
  });
});

describe('parsePayloadKeys', () => {
  it('takes the last key as current unless told, and ignores comments and blanks', () => {
    const ring = parsePayloadKeys(`# keys\n${KEY_A}\n\n${KEY_B}\n`);
    expect(ring.currentKeyId).toBe('b');
    expect([...ring.keys.keys()]).toEqual(['a', 'b']);
    expect(parsePayloadKeys(`${KEY_A},${KEY_B}`, 'a').currentKeyId).toBe('a');
  });

  it.each([
    ['', /no key/],
    ['nokey', /id:base64key/],
    ['a:c2hvcnQ=', /5 bytes; AES-256 needs 32/],
    [`${KEY_A},${KEY_A}`, /listed twice/],
  ])('refuses %p', (text, message) => {
    expect(() => parsePayloadKeys(text)).toThrow(PayloadKeyError);
    expect(() => parsePayloadKeys(text)).toThrow(message);
  });

  it('refuses a current key id that is not listed', () => {
    expect(() => parsePayloadKeys(KEY_A, 'b')).toThrow(/current key "b" is not among the keys \(a\)/);
  });
});

describe('payload keys in the configuration', () => {
  const dir = () => mkdtempSync(path.join(os.tmpdir(), 'payload-keys-'));

  it('names PAYLOAD_KEYS when no key is configured', () => {
    const config = loadConfig({ DATA_DIR: dir() });
    expect(() => payloadKeyringOf(config)).toThrow(ConfigError);
    expect(() => payloadKeyringOf(config)).toThrow(/PAYLOAD_KEYS: is required/);
  });

  it('names the variable of a bad key at load time', () => {
    expect(() => loadConfig({ PAYLOAD_KEYS: 'a:bad' })).toThrow(/PAYLOAD_KEYS: key "a" is 2 bytes/);
    expect(() => loadConfig({ PAYLOAD_KEYS: KEY_A, PAYLOAD_KEY_ID: 'z' })).toThrow(
      /PAYLOAD_KEY_ID: the current key "z"/,
    );
    expect(() => loadConfig({ PAYLOAD_KEYS: KEY_A, PAYLOAD_KEY_FILE: 'x' })).toThrow(
      /PAYLOAD_KEY_FILE: set PAYLOAD_KEYS or/,
    );
  });

  it('reads a key file, with PAYLOAD_KEY_ID choosing the current key', () => {
    const file = path.join(dir(), 'keys');
    writeFileSync(file, `${KEY_A}\n${KEY_B}\n`);
    expect(payloadKeyringOf(loadConfig({ PAYLOAD_KEY_FILE: file })).currentKeyId).toBe('b');
    expect(payloadKeyringOf(loadConfig({ PAYLOAD_KEY_FILE: file, PAYLOAD_KEY_ID: 'a' })).currentKeyId).toBe('a');
    expect(() => payloadKeyringOf(loadConfig({ PAYLOAD_KEY_FILE: `${file}-missing` }))).toThrow(
      /PAYLOAD_KEY_FILE: cannot read/,
    );
  });

  it('creates the development key file once, owner-only, and reuses it', () => {
    const dataDir = dir();
    const file = path.join(dataDir, 'payload-keys');
    expect(ensurePayloadKeyFile(file)).toEqual({ file, created: true });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const first = readFileSync(file, 'utf8');
    expect(ensurePayloadKeyFile(file)).toEqual({ file, created: false });
    expect(readFileSync(file, 'utf8')).toBe(first);
    // Commands beside `saga dev` find it in DATA_DIR.
    expect(dataConverterOf(loadConfig({ DATA_DIR: dataDir })).payloadCodecs).toHaveLength(1);
  });
});
