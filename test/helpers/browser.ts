import { isExecutable } from '../../src/util/executable';
import { chromium, type Browser } from 'playwright-core';

/**
 * Chromium from the OS packages (Debian's `chromium`), driven by playwright-core. Nothing is
 * downloaded: set CHROMIUM_PATH to use another binary.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/**
 * The network is closed; without the background-networking flags Chromium keeps opening
 * connections that get refused.
 */
const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Why browser suites cannot run here, or null when they can. Without Chromium and CI!=='true'
 * the suite skips; with CI=true it runs and fails, since CI must have the browser.
 */
export function browserSkipReason(): string | null {
  if (isExecutable(CHROMIUM_PATH)) return null;
  if (process.env.CI === 'true') return null;
  return `Chromium not found at ${CHROMIUM_PATH} (install the Debian package \`chromium\` or set CHROMIUM_PATH)`;
}

/** `describe`, or `describe.skip` plus one line saying why, chosen when the test file loads. */
export function describeWithBrowser(name: string, fn: () => void): void {
  const reason = browserSkipReason();
  if (reason) process.stderr.write(`[browser] Skipping "${name}": ${reason}.\n`);
  (reason ? describe.skip : describe)(name, fn);
}

export async function launchChromium(): Promise<Browser> {
  if (!isExecutable(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}; CI=true requires it (.ci/run installs the Debian package)`,
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 30_000 });
}
