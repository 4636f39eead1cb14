// The browser tests' library: launches the machine's Chromium (the Debian package that
// scripts/setup.sh installs) headless through playwright-core, which never downloads a browser
// of its own here. The scripts beside this file import it; the C++ tests run those scripts
// through tests/support/browser.hpp. See README.md.
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

// Headless, as root (no sandbox), no GPU, and nothing that talks to Google on its own.
// playwright gives every launch a fresh, empty --user-data-dir and removes it on close.
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage', // a container's /dev/shm is often 64 MB
];

// The browsers launched by this process, closed or killed by runMain at the end.
const launched = new Set();

export function chromiumPath() {
  return process.env.KEYSAT_CHROMIUM || '/usr/bin/chromium';
}

// A playwright Browser on the machine's Chromium. `options` go to chromium.launch; its `args`
// are added to CHROMIUM_ARGS.
export async function launch(options = {}) {
  const executablePath = chromiumPath();
  if (!fs.existsSync(executablePath))
    throw new Error(`no Chromium at ${executablePath}: run scripts/setup.sh (or set KEYSAT_CHROMIUM)`);
  const { args = [], ...rest } = options;
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [...CHROMIUM_ARGS, ...args],
    timeout: 30_000,
    ...rest,
  });
  launched.add(browser);
  browser.on('disconnected', () => launched.delete(browser));
  return browser;
}

// Saves a full-page PNG of `page` as dir/name.png (dir is created); returns its path.
export async function shot(page, dir, name) {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// Closes every browser still open, giving up after `ms` (playwright kills what is left when the
// process exits).
async function closeAll(ms) {
  const closing = Promise.allSettled([...launched].map((b) => b.close()));
  await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, ms).unref())]);
}

// Runs the async `fn` as the script's main: exit 0 when it resolves; its error with the stack on
// stderr and exit 1 when it throws; exit 3 when it has not finished within
// $KEYSAT_BROWSER_TIMEOUT_MS (default 60 s), the browsers killed.
export function runMain(fn) {
  const ms = Number(process.env.KEYSAT_BROWSER_TIMEOUT_MS) || 60_000;
  let done = false;
  const finish = async (code, closeMs) => {
    if (done)
      return;
    done = true;
    clearTimeout(timer);
    await closeAll(closeMs);
    process.exit(code);
  };
  const timer = setTimeout(() => {
    process.stderr.write(`${path.basename(process.argv[1])}: timed out after ${ms} ms\n`);
    // No waiting on a browser that may hang: the exit kills it (playwright's exit handler).
    finish(3, 0);
  }, ms);
  Promise.resolve()
    .then(fn)
    .then(
      () => finish(0, 10_000),
      (err) => {
        // playwright colours its call logs; a test's failure message reads better without.
        const text = err && err.stack ? err.stack : String(err);
        process.stderr.write(`${text.replace(/\x1b\[[0-9;]*m/g, '')}\n`);
        return finish(1, 5_000);
      },
    );
}
