// Measures sgemm GFLOP/s (2*m*n*k / time) per implementation on square and conv-like shapes.
// Usage: node scripts/bench-gemm.mjs [--quick] (after `pnpm build`). Not a test: numbers vary.
import { sgemmTypescript, sgemmWasm, wasmSimdAvailable } from '../dist/index.js';

const quick = process.argv.includes('--quick');
const shapes = [
  // [label, transA, transB, m, n, k]
  ['512^3', false, false, 512, 512, 512],
  ['conv 3x3 c64 56x56', false, false, 64, 3136, 576],
  ['conv 3x3 c128 28x28', false, false, 128, 784, 1152],
  ['conv 7x7/2 stem 112x112', false, false, 64, 12544, 147],
  ['dW-like (B^T)', false, true, 64, 576, 3136],
  ['dX-like (A^T)', true, false, 576, 3136, 64],
];
const impls = [['typescript', sgemmTypescript]];
if (wasmSimdAvailable()) impls.unshift(['wasm-simd', sgemmWasm]);

function fill(length) {
  const x = new Float32Array(length);
  for (let i = 0; i < length; i++) x[i] = Math.random() * 2 - 1;
  return x;
}

function median(xs) {
  const s = [...xs].sort((p, q) => p - q);
  return s[Math.floor(s.length / 2)];
}

console.log(`node ${process.version}, ${process.arch}`);
console.log('| shape | m | n | k | implementation | median ms | GFLOP/s |');
console.log('|---|---|---|---|---|---|---|');
for (const [label, transA, transB, m, n, k] of shapes) {
  const a = fill(m * k);
  const b = fill(k * n);
  const c = new Float32Array(m * n);
  const lda = transA ? m : k;
  const ldb = transB ? k : n;
  const flops = 2 * m * n * k;
  for (const [name, fn] of impls) {
    const run = () => fn(transA, transB, m, n, k, 1, a, 0, lda, b, 0, ldb, 0, c, 0, n);
    // Warm up until the JIT / wasm tier-up has settled.
    const warmEnd = performance.now() + (quick ? 200 : 1000);
    do run();
    while (performance.now() < warmEnd);
    const times = [];
    const end = performance.now() + (quick ? 300 : 2000);
    do {
      const t0 = performance.now();
      run();
      times.push(performance.now() - t0);
    } while (performance.now() < end || times.length < 5);
    const ms = median(times);
    const gflops = flops / (ms * 1e6);
    console.log(
      `| ${label} | ${m} | ${n} | ${k} | ${name} | ${ms.toFixed(2)} | ${gflops.toFixed(1)} |`,
    );
  }
}
