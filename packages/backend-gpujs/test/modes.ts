import { type GpujsMode, probeMode } from '../src/index.js';

/** Modes this machine's tests run; webgpu has its own availability test. */
export const TESTED_MODES: GpujsMode[] = ['cpu', 'webasm', 'headlessgl'];

/** CI sets this under xvfb-run: there, headlessgl being unavailable is a failure, not a note. */
export const REQUIRE_HEADLESSGL = process.env.CONV2D_REQUIRE_HEADLESSGL === '1';

export const availability = Object.fromEntries(
  await Promise.all(TESTED_MODES.map(async (m) => [m, await probeMode(m)] as const)),
);
