import type { Layer } from './layers.js';
import type { Pass } from './passes.js';
import type { Slice } from './slice.js';

/**
 * What `pnpm bench --browser` runs in headless Chromium: our GPU modes (resident tensors) and
 * im2col beside the tfjs backends a browser user would pick. Names say "(browser)" so a row
 * never reads as a Node measurement. All run in plan mode.
 */
export type BrowserEngine =
  | { name: string; kind: 'conv2d'; spec: string; resident: boolean; peer: false }
  | { name: string; kind: 'tfjs'; backend: 'webgpu' | 'webgl' | 'wasm'; peer: true };

export const BROWSER_ENGINES: readonly BrowserEngine[] = [
  {
    name: 'gpujs:webgpu (browser)',
    kind: 'conv2d',
    spec: 'gpujs:webgpu',
    resident: true,
    peer: false,
  },
  {
    name: 'gpujs:webgl2 (browser)',
    kind: 'conv2d',
    spec: 'gpujs:webgl2',
    resident: true,
    peer: false,
  },
  { name: 'im2col (browser)', kind: 'conv2d', spec: 'im2col', resident: false, peer: false },
  { name: 'tfjs-webgpu (browser)', kind: 'tfjs', backend: 'webgpu', peer: true },
  { name: 'tfjs-webgl (browser)', kind: 'tfjs', backend: 'webgl', peer: true },
  { name: 'tfjs-wasm (browser)', kind: 'tfjs', backend: 'wasm', peer: true },
];

/** What browser/page.ts publishes as `window.conv2dBench`: one engine and one cell at a time. */
export interface BenchPage {
  /** Opens an engine (closing the previous one); null, or why it cannot run here. */
  open(name: string): Promise<string | null>;
  /** Builds a layer's pass in plan mode (inputs made and uploaded); null, or why it is absent. */
  prepare(layer: Layer, pass: Pass): Promise<string | null>;
  /** One run of the prepared pass, its result read back into JavaScript memory; milliseconds. */
  run(): Promise<number>;
  /** The last run's result on these slices, for the check against the oracle. */
  slices(slices: Slice[]): number[][];
  close(): void;
}
