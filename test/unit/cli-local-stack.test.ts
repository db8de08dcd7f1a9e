import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeNoStack, lookupLocalStack } from '../../src/cli/local-stack';
import { acquireDevLock, clientApiUrl, parseLockContent, type StackRecord } from '../../src/processes/dev-lock';

// How `saga` commands find the `npm start` running beside them: its lock file.

const STACK: StackRecord = {
  apiUrl: 'http://127.0.0.1:3000',
  databaseUrl: 'postgres://saga:secret@127.0.0.1:54329/saga',
  temporalAddress: '127.0.0.1:7233',
  temporalNamespace: 'default',
  temporalUiUrl: 'http://127.0.0.1:8233',
};

describe('parseLockContent', () => {
  it('reads a lock with its stack, and one written before the stack is up', () => {
    const lock = {
      pid: 12,
      startedAt: '2025-01-01T00:00:00.000Z',
      children: [{ pid: 13, command: 'server start-dev' }],
    };
    expect(parseLockContent(JSON.stringify({ ...lock, stack: STACK }))).toEqual({ ...lock, stack: STACK });
    expect(parseLockContent(JSON.stringify(lock))).toEqual(lock);
    // Locks written before the stack was recorded have no `stack` (and older ones no children).
    expect(parseLockContent('{"pid":12,"startedAt":"x"}')).toEqual({ pid: 12, startedAt: 'x', children: [] });
  });

  it('treats empty, torn or foreign content as no lock, and drops an unreadable stack', () => {
    expect(parseLockContent('')).toBeUndefined();
    expect(parseLockContent('{"pid":12,"sta')).toBeUndefined();
    expect(parseLockContent('{"pid":"12","startedAt":"x"}')).toBeUndefined();
    expect(parseLockContent('[1,2]')).toBeUndefined();
    const bad = { pid: 12, startedAt: 'x', children: [], stack: { ...STACK, apiUrl: 'nonsense' } };
    expect(parseLockContent(JSON.stringify(bad))).toEqual({ pid: 12, startedAt: 'x', children: [] });
  });
});

describe('clientApiUrl', () => {
  it('reaches a wildcard or loopback listener on loopback', () => {
    expect(clientApiUrl('0.0.0.0', 3000)).toBe('http://127.0.0.1:3000');
    expect(clientApiUrl('127.0.0.1', 3000)).toBe('http://127.0.0.1:3000');
    expect(clientApiUrl('localhost', 3000)).toBe('http://127.0.0.1:3000');
    expect(clientApiUrl('::', 3000)).toBe('http://127.0.0.1:3000');
    expect(clientApiUrl('::1', 3000)).toBe('http://[::1]:3000');
    expect(clientApiUrl('10.0.0.5', 3000)).toBe('http://10.0.0.5:3000');
  });
});

describe('lookupLocalStack', () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'saga-lock-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
  const write = (dir: string, content: unknown) =>
    writeFileSync(path.join(dir, 'dev.lock'), typeof content === 'string' ? content : JSON.stringify(content));

  it('returns the stack a live process recorded', () => {
    const dir = dataDir();
    write(dir, { pid: 4242, startedAt: 's', children: [], stack: STACK });
    expect(lookupLocalStack(dir, (pid) => pid === 4242)).toEqual({
      state: 'running',
      file: path.join(dir, 'dev.lock'),
      pid: 4242,
      startedAt: 's',
      stack: STACK,
    });
  });

  it('tells a stack still starting, a stale lock, an unreadable one and none apart', () => {
    const dir = dataDir();
    expect(lookupLocalStack(dir, () => true)).toMatchObject({ state: 'absent', why: 'no lock file' });
    write(dir, { pid: 4242, startedAt: 's', children: [] });
    expect(lookupLocalStack(dir, () => true)).toMatchObject({ state: 'starting', pid: 4242 });
    write(dir, { pid: 4242, startedAt: 's', children: [], stack: STACK });
    const stale = lookupLocalStack(dir, () => false);
    expect(stale).toMatchObject({ state: 'absent', why: 'stale lock' });
    expect(describeNoStack(stale as Exclude<typeof stale, { state: 'running' }>)).toMatch(
      /`npm start` is not running \(.*dev\.lock is left from a process that is gone\)/,
    );
    write(dir, '{');
    expect(lookupLocalStack(dir, () => true)).toMatchObject({ state: 'absent', why: 'unreadable lock' });
  });

  it('finds what acquireDevLock recorded, in a file only its owner can read', () => {
    const dir = dataDir();
    const lock = acquireDevLock(dir);
    try {
      expect(lookupLocalStack(dir)).toMatchObject({ state: 'starting', pid: process.pid });
      lock.recordStack(STACK);
      expect(lookupLocalStack(dir)).toMatchObject({ state: 'running', pid: process.pid, stack: STACK });
      expect(statSync(path.join(dir, 'dev.lock')).mode & 0o777).toBe(0o600);
      expect(JSON.parse(readFileSync(path.join(dir, 'dev.lock'), 'utf8')).stack).toEqual(STACK);
    } finally {
      lock.release();
    }
    expect(lookupLocalStack(dir)).toMatchObject({ state: 'absent', why: 'no lock file' });
  });
});
