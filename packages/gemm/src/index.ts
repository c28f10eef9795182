import type { GemmImplementation, Sgemm } from './types.js';
import { sgemmTypescript } from './typescript.js';
import { sgemmWasm, type WasmKernelName, wasmKernel, wasmSimdAvailable } from './wasm.js';

export { type DepthwisePlanes, depthwisePlanes, type PlaneCorrelation } from './depthwise.js';
export { sgemmReference } from './reference.js';
export type { GemmImplementation, ResidentSgemmArgs, Sgemm, SgemmArgs } from './types.js';
export { sgemmTypescript } from './typescript.js';
export {
  type Im2colGeometry,
  MAX_PATCH_GEOMETRY,
  type PackedA,
  type PackedSgemmArgs,
  type PackedWindow,
  type PatchTile,
  packedASize,
  packedWindowFits,
  packOperandA,
  setWasmRelaxedSimd,
  sgemmWasm,
  sgemmWasmPacked,
  sgemmWasmResident,
  type WasmKernelName,
  wasmCol2im,
  wasmIm2col,
  wasmKernel,
  wasmRelaxedSimdAvailable,
  wasmResident,
  wasmSimdAvailable,
} from './wasm.js';

// Chosen on first use, so importing the package compiles nothing.
let current: GemmImplementation | undefined;

/** The implementation `sgemm` uses: WebAssembly SIMD when the runtime has it, else TypeScript. */
export function gemmImplementation(): GemmImplementation {
  if (current === undefined) current = wasmSimdAvailable() ? 'wasm-simd' : 'typescript';
  return current;
}

/**
 * The kernel `sgemm` runs: which Wasm build (`wasmKernel()`) when the implementation is Wasm,
 * else `'typescript'`. For benchmarks and logs.
 */
export function gemmKernel(): WasmKernelName | 'typescript' {
  return gemmImplementation() === 'wasm-simd' ? (wasmKernel() ?? 'typescript') : 'typescript';
}

/** Forces the implementation `sgemm` uses (tests, benchmarks). Throws if it cannot run here. */
export function setGemmImplementation(impl: GemmImplementation): void {
  if (impl === 'wasm-simd') {
    if (!wasmSimdAvailable()) {
      throw new Error('setGemmImplementation: WebAssembly SIMD is not available in this runtime');
    }
  } else if (impl !== 'typescript') {
    throw new Error(
      `setGemmImplementation: expected 'wasm-simd' or 'typescript', got ${String(impl)}`,
    );
  }
  current = impl;
}

/**
 * Row-major C[m x n] = alpha * op(A)[m x k] * op(B)[k x n] + beta * C, op = transpose when the
 * flag is set; lda/ldb/ldc are row strides of A, B, C as stored, offsets select sub-arrays.
 * beta = 0 ignores C's prior contents (NaN included), as in BLAS.
 */
export const sgemm: Sgemm = (...args) =>
  (gemmImplementation() === 'wasm-simd' ? sgemmWasm : sgemmTypescript)(...args);
