import { parentPort } from 'node:worker_threads';
import {
  type GemmImplementation,
  gemmImplementation,
  setGemmImplementation,
  setWasmRelaxedSimd,
  wasmKernel,
} from '@conv2d/gemm';
import { drainTasks } from './kernels.js';
import type { JobMessage, JobReply } from './pool.js';
import { WORKER_READY } from './worker-ready.js';

// One im2col tile per worker, grown on demand and kept until the worker ends.
let workspace = new Float32Array(0);

parentPort?.on('message', (message: JobMessage) => {
  let reply: JobReply;
  try {
    // Follow the caller's GEMM choices (setGemmImplementation / setWasmRelaxedSimd).
    if (message.gemm !== gemmImplementation()) {
      setGemmImplementation(message.gemm as GemmImplementation);
    }
    if (message.wasm !== null && message.wasm !== wasmKernel()) {
      setWasmRelaxedSimd(message.wasm === 'wasm-relaxed-simd');
    }
    if (workspace.length < message.job.tileFloats) {
      workspace = new Float32Array(message.job.tileFloats);
    }
    drainTasks(message.job, message.slot, workspace);
    reply = { id: message.id, ok: true };
  } catch (e) {
    reply = {
      id: message.id,
      ok: false,
      error: e instanceof Error ? (e.stack ?? e.message) : String(e),
    };
  }
  parentPort?.postMessage(reply);
});

parentPort?.postMessage(WORKER_READY);
