import { fileURLToPath } from 'node:url';

/**
 * Headless Chromium with WebGL and WebGPU on SwiftShader: the flags every browser run of this
 * repository shares (tooling/chromium; the tests never download a browser).
 */
export { CHROMIUM_PATH, launchChromium } from '@conv2d/chromium';

/**
 * Where a test writes an image: test-browser/output/ on every run, the repository's docs/
 * (the README's copies) under `pnpm screenshot` (UPDATE_SCREENSHOT=1).
 */
export function artifactPath(file: string): string {
  const dir = process.env.UPDATE_SCREENSHOT ? '../../../docs/' : './output/';
  return fileURLToPath(new URL(`${dir}${file}`, import.meta.url));
}
