/*
 * The page `pnpm bench --browser` drives in headless Chromium (src/browser-bench.ts): our
 * engines and the tfjs peers through the bench's own adapters (plan mode: weights set once,
 * resident tensors on the GPU engines), one cell at a time. The Node side checks each result
 * against the naive oracle before it asks for timed runs.
 */

import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import * as tf from '@tensorflow/tfjs-core';
import { type BenchPage, BROWSER_ENGINES, type BrowserEngine } from '../src/browser-engines.js';
import { layerTensors } from '../src/data.js';
import { createConv2dAdapter } from '../src/engines/conv2d.js';
import { tfjsAdapter } from '../src/engines/tfjs-adapter.js';
import type { EngineAdapter, PreparedPass } from '../src/engines/types.js';
import type { Layer } from '../src/layers.js';
import { describeLayer, type Pass } from '../src/passes.js';
import { extractSlice, type Slice } from '../src/slice.js';

/** Loads and starts a tfjs backend (each is registered once, then switched to). */
async function startTfjs(backend: 'webgpu' | 'webgl' | 'wasm'): Promise<void> {
  if (backend === 'webgpu') await import('@tensorflow/tfjs-backend-webgpu');
  else if (backend === 'webgl') await import('@tensorflow/tfjs-backend-webgl');
  else {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths({
      'tfjs-backend-wasm.wasm': wasmPlain,
      'tfjs-backend-wasm-simd.wasm': wasmSimd,
      'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
    });
  }
  // production mode, as a deployed model runs
  tf.enableProdMode();
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend ${backend} did not start`);
  await tf.ready();
}

async function adapterFor(e: BrowserEngine): Promise<EngineAdapter> {
  if (e.kind === 'tfjs') {
    await startTfjs(e.backend);
    return tfjsAdapter(tf, e.backend, 'async');
  }
  return createConv2dAdapter(e.spec, undefined, e.resident);
}

let adapter: EngineAdapter | null = null;
let prepared: PreparedPass | null = null;
let current: { layer: Layer; pass: Pass } | null = null;

const page: BenchPage = {
  async open(name) {
    page.close();
    const e = BROWSER_ENGINES.find((x) => x.name === name);
    if (!e) throw new Error(`no browser engine ${name}`);
    try {
      adapter = await adapterFor(e);
      return null;
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  },
  async prepare(layer, pass) {
    if (!adapter) throw new Error('no engine open');
    prepared?.release();
    prepared = null;
    const absent = adapter.absent(layer, pass);
    if (absent) return absent;
    prepared = await adapter.prepare(
      layer,
      pass,
      layerTensors(layer, describeLayer(layer).yShape),
      'plan',
    );
    current = { layer, pass };
    return null;
  },
  async run() {
    if (!prepared) throw new Error('no pass prepared');
    const start = performance.now();
    await prepared.run();
    return performance.now() - start;
  },
  slices(slices: Slice[]) {
    if (!prepared || !current) throw new Error('no pass prepared');
    const { layer, pass } = current;
    const result = prepared.result();
    return slices.map((s) => Array.from(extractSlice(layer, pass, s, result)));
  },
  close() {
    prepared?.release();
    prepared = null;
    current = null;
    adapter?.dispose();
    adapter = null;
  },
};

// our engines come from the standard registry (loaded on use, as an app gets them)
const { registerStandardBackends } = await import('conv2d');
registerStandardBackends();
(globalThis as unknown as { conv2dBench: BenchPage }).conv2dBench = page;
