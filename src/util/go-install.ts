import { spawn } from 'node:child_process';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';

export interface GoInstallOptions {
  /** Go package path of the command, e.g. `github.com/temporalio/cli/cmd/temporal`. */
  pkg: string;
  version: string;
  /** The binary `go install` writes (the package's last path segment). */
  binary: string;
  /** Where the binary ends up. */
  target: string;
  /** What is built, for the progress lines (e.g. "the Temporal CLI v1.5.1"). */
  label: string;
  onProgress?: (line: string) => void;
}

/**
 * `go install pkg@version` into a staging folder beside `target`, then moved into place, so an
 * interrupted build never leaves a half-written binary that later runs would trust. Static
 * (CGO off), with progress lines while modules download and the build runs.
 */
export async function goInstall(options: GoInstallOptions): Promise<string> {
  const onProgress = options.onProgress ?? ((l: string) => process.stderr.write(`${l}\n`));
  const staging = path.join(path.dirname(options.target), `staging-${process.pid}`);
  await mkdir(staging, { recursive: true });
  const started = Date.now();
  const elapsed = () => `${Math.round((Date.now() - started) / 1000)}s`;
  onProgress(`Building ${options.label} with Go (first run only; takes a few minutes)…`);
  const ticker = setInterval(() => onProgress(`  … still building (${elapsed()})`), 30_000);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn('go', ['install', `${options.pkg}@${options.version}`], {
        env: { ...process.env, CGO_ENABLED: '0', GOBIN: staging },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let downloads = 0;
      let tail = '';
      const onData = (chunk: Buffer) => {
        const text = chunk.toString();
        tail = (tail + text).slice(-4000);
        for (const line of text.split('\n')) {
          if (line.startsWith('go: downloading')) {
            downloads++;
            if (downloads % 25 === 1) onProgress(`  downloading modules (${downloads} so far, ${elapsed()})`);
          }
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('error', reject);
      child.on('close', (code) =>
        code === 0 ? resolve() : reject(new Error(`go install exited with ${code}:\n${tail}`)),
      );
    });
    await mkdir(path.dirname(options.target), { recursive: true });
    await rename(path.join(staging, options.binary), options.target);
    onProgress(`Built ${options.label} in ${elapsed()}: ${options.target}`);
    return options.target;
  } finally {
    clearInterval(ticker);
    await rm(staging, { recursive: true, force: true });
  }
}
