import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findOnPath, isExecutable } from '../util/executable';
import { goInstall } from '../util/go-install';

/** The CLI tag built from Go modules: it has no `replace` directive, so `go install` accepts it. */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';

export type TemporalCliSource = 'env' | 'path' | 'cache' | 'go-build' | 'sdk-download';

/** Where the Temporal CLI comes from; `path` is absent only for `sdk-download`. */
export interface ResolvedTemporalCli {
  source: TemporalCliSource;
  path?: string;
}

export interface ResolveTemporalCliOptions {
  /** Explicit binary (TEMPORAL_CLI). Default: process.env.TEMPORAL_CLI. */
  explicitPath?: string;
  /** Cache root. Default: $XDG_CACHE_HOME or ~/.cache, then saga-orchestrator/temporal-cli. */
  cacheDir?: string;
  /** Look for `temporal` on PATH. Default true. */
  searchPath?: boolean;
  /** Allow the SDK's own download as the last resort. Default true. */
  allowSdkDownload?: boolean;
  /** Progress lines while building. Default: written to stderr. */
  onProgress?: (line: string) => void;
}

export class TemporalCliNotFoundError extends Error {
  override readonly name = 'TemporalCliNotFoundError';
}

export function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'saga-orchestrator', 'temporal-cli');
}

export function cachedBinaryPath(cacheDir: string = defaultCacheDir()): string {
  return path.join(cacheDir, TEMPORAL_CLI_VERSION, 'bin', 'temporal');
}

export function hasGo(): boolean {
  return spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0;
}

/** Builds the CLI with Go into the cache (see `goInstall`). */
export async function buildTemporalCli(
  cacheDir: string = defaultCacheDir(),
  onProgress?: (line: string) => void,
): Promise<string> {
  return goInstall({
    pkg: CLI_MODULE,
    version: TEMPORAL_CLI_VERSION,
    binary: 'temporal',
    target: cachedBinaryPath(cacheDir),
    label: `the Temporal CLI ${TEMPORAL_CLI_VERSION}`,
    onProgress,
  });
}

/**
 * Finds the Temporal CLI in this order: TEMPORAL_CLI → `temporal` on PATH → the cached
 * build → a Go build into the cache → the SDK's own download (needs the internet).
 */
export async function resolveTemporalCli(options: ResolveTemporalCliOptions = {}): Promise<ResolvedTemporalCli> {
  const explicit = options.explicitPath ?? process.env.TEMPORAL_CLI;
  if (explicit) {
    if (!isExecutable(explicit)) {
      throw new TemporalCliNotFoundError(`TEMPORAL_CLI=${explicit} is not an executable file`);
    }
    return { source: 'env', path: path.resolve(explicit) };
  }
  if (options.searchPath !== false) {
    const onPath = findOnPath('temporal');
    if (onPath) return { source: 'path', path: onPath };
  }
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const cached = cachedBinaryPath(cacheDir);
  if (existsSync(cached) && isExecutable(cached)) return { source: 'cache', path: cached };
  if (hasGo()) {
    return { source: 'go-build', path: await buildTemporalCli(cacheDir, options.onProgress) };
  }
  if (options.allowSdkDownload !== false) return { source: 'sdk-download' };
  throw new TemporalCliNotFoundError(
    [
      'No Temporal CLI found. Tried, in order:',
      '  1. TEMPORAL_CLI (unset)',
      '  2. `temporal` on PATH (not found)',
      `  3. the cached build at ${cached} (absent)`,
      `  4. building it with Go: go install ${CLI_MODULE}@${TEMPORAL_CLI_VERSION} (no \`go\` on PATH)`,
      '  5. the Temporal SDK download (disabled)',
      'Install Go, or put the Temporal CLI on PATH, or set TEMPORAL_CLI.',
    ].join('\n'),
  );
}
