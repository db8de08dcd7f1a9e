import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Our `engines.node` promises Node versions the production dependencies accept: every
 * installed production package's own `engines.node` must contain our whole range, so an
 * upgrade that asks for a newer Node fails here (raise ours, or explain an exception below
 * and in docs/architecture.md, "Dependencies pinned on purpose").
 */

// semver comes with the production tree (fastify, @opentelemetry/sdk-trace-node); it ships no types.
const semver = require('semver') as {
  subset(sub: string, dom: string): boolean;
  validRange(range: string): string | null;
  satisfies(version: string, range: string): boolean;
};

const ROOT = path.resolve(__dirname, '../..');
const readJson = <T>(file: string): T => JSON.parse(readFileSync(path.join(ROOT, file), 'utf8')) as T;

interface LockEntry {
  dev?: boolean;
}
interface Manifest {
  name?: string;
  version?: string;
  engines?: { node?: string };
}

const ours = readJson<Manifest>('package.json').engines!.node!;

/**
 * Packages whose stated range is stricter than what they need, with the version we checked
 * and why it runs on every Node in our range. A new version of one of them is checked again.
 */
const EXCEPTIONS: Record<string, { version: string; range: string; why: string; holds: () => boolean }> = {
  '@nats-io/nuid': {
    version: '3.0.0',
    range: '>= 22.x',
    why: 'uses only globalThis.crypto.getRandomValues (global since Node 19), Math.random otherwise',
    holds: () => typeof globalThis.crypto?.getRandomValues === 'function',
  },
};

/** Every installed production package (the lockfile's non-dev entries present on disk). */
function productionManifests(): { location: string; manifest: Manifest }[] {
  const { packages } = readJson<{ packages: Record<string, LockEntry> }>('package-lock.json');
  return Object.entries(packages)
    .filter(([location, entry]) => location !== '' && !entry.dev)
    .filter(([location]) => existsSync(path.join(ROOT, location, 'package.json'))) // other platforms' optional binaries
    .map(([location]) => ({ location, manifest: readJson<Manifest>(path.join(location, 'package.json')) }));
}

describe('engines.node', () => {
  const manifests = productionManifests();

  it('is a valid range that the running Node satisfies', () => {
    expect(semver.validRange(ours)).not.toBeNull();
    expect(semver.satisfies(process.versions.node, ours)).toBe(true);
  });

  it('reads the production tree (sanity: the direct dependencies are among them)', () => {
    const names = new Set(manifests.map((m) => m.manifest.name));
    const direct = Object.keys(readJson<{ dependencies: Record<string, string> }>('package.json').dependencies);
    expect(direct.filter((d) => !names.has(d))).toEqual([]);
  });

  it("lies within every production dependency's engines.node (or a documented exception)", () => {
    const conflicts = manifests
      .filter(({ manifest }) => manifest.engines?.node && !semver.subset(ours, manifest.engines.node))
      .map(({ location, manifest }) => ({ location, version: manifest.version, node: manifest.engines!.node }))
      .filter(({ location, version, node }) => {
        const exception = EXCEPTIONS[location.replace(/^.*node_modules\//, '')];
        return !(exception && exception.version === version && exception.range === node);
      });
    expect(conflicts).toEqual([]);
  });

  it.each(Object.keys(EXCEPTIONS))('exception %s still holds', (name) => {
    const exception = EXCEPTIONS[name]!;
    const installed = manifests.filter((m) => m.manifest.name === name);
    expect(installed.length).toBeGreaterThan(0);
    expect(exception.holds()).toBe(true);
  });

  it('is documented with its exceptions in docs/architecture.md', () => {
    const architecture = readFileSync(path.join(ROOT, 'docs/architecture.md'), 'utf8');
    expect(architecture).toContain(`\`engines.node\` is \`${ours}\``);
    for (const name of Object.keys(EXCEPTIONS)) expect(architecture).toContain(`\`${name}\``);
  });
});
