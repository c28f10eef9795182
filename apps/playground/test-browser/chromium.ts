import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';

/** Debian's chromium (`apt-get install -y chromium`); the tests never download a browser. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Headless Chromium with a software WebGL (SwiftShader), so gpu.js's WebGL modes run without a GPU. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `no Chromium at ${CHROMIUM_PATH}: install it with \`apt-get install -y chromium\` ` +
        '(or set CHROMIUM_PATH); the browser tests never download one',
    );
  }
  // playwright-core gives every launch a fresh temporary profile (--user-data-dir).
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--use-angle=swiftshader',
      '--enable-unsafe-swiftshader',
      '--ignore-gpu-blocklist',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * Where a test writes an image: test-browser/output/ on every run, the repository's docs/
 * (the README's copies) under `pnpm screenshot` (UPDATE_SCREENSHOT=1).
 */
export function artifactPath(file: string): string {
  const dir = process.env.UPDATE_SCREENSHOT ? '../../../docs/' : './output/';
  return fileURLToPath(new URL(`${dir}${file}`, import.meta.url));
}
