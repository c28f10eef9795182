// The sgemm kernel built with relaxed SIMD (scripts/build-wasm.mjs enables it for this entry):
// gemm.ts reads ASC_FEATURE_RELAXED_SIMD and fuses the micro-kernel's multiply-adds.
export * from './gemm';
