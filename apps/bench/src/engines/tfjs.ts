import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { type Tf, tfjsAdapter } from './tfjs-adapter.js';
import type { EngineAdapter } from './types.js';

async function loadTf(backend: 'cpu' | 'wasm'): Promise<Tf> {
  const tf = await import('@tensorflow/tfjs-core');
  if (backend === 'cpu') {
    await import('@tensorflow/tfjs-backend-cpu');
  } else {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // One thread, as the package runs in Node; the .wasm files sit next to its main file.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    const main = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(`${dirname(main)}/`);
  }
  // production mode, as a deployed model runs: no debug checks, no console banner
  tf.enableProdMode();
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend ${backend} failed to start`);
  return tf;
}

/** tfjs-cpu or tfjs-wasm in Node (a bench child). */
export async function createTfjsAdapter(backend: 'cpu' | 'wasm'): Promise<EngineAdapter> {
  return tfjsAdapter(await loadTf(backend), backend, 'sync');
}
