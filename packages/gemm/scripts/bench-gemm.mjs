// Measures sgemm GFLOP/s (2*m*n*k / time) per implementation on square and conv-like shapes.
// Usage: pnpm build && node scripts/bench-gemm.mjs [--quick]. Not a test: the numbers depend on
// the machine and on what else runs on it, so it prints the load average with them.
// Each shape runs its implementations round-robin for a fixed time. Reported: the median over
// calls of wall-clock GFLOP/s, and the median and best of GFLOP/s per CPU-second (process CPU
// time), which stays meaningful when other processes share the cores and preempt this one.
import { cpus, loadavg } from 'node:os';
import {
  gemmKernel,
  setWasmRelaxedSimd,
  sgemmTypescript,
  sgemmWasm,
  wasmRelaxedSimdAvailable,
  wasmSimdAvailable,
} from '../dist/index.js';

const quick = process.argv.includes('--quick');
const seconds = quick ? 1 : 6;
const shapes = [
  // [label, transA, transB, m, n, k]
  ['square 512', false, false, 512, 512, 512],
  ['3x3 conv, 64 ch, 56x56', false, false, 64, 3136, 576],
  ['3x3 conv, 128 ch, 28x28', false, false, 128, 784, 1152],
  ['7x7/2 stem, 112x112', false, false, 64, 12544, 147],
  ['dW-like, B transposed', false, true, 64, 576, 3136],
  ['dX-like, A transposed', true, false, 576, 3136, 64],
];
// Both Wasm builds where they run (each call selects its build first), then TypeScript.
const defaultKernel = gemmKernel();
const wasmBuild =
  (relaxed) =>
  (...args) => {
    setWasmRelaxedSimd(relaxed);
    sgemmWasm(...args);
  };
const impls = [];
if (wasmRelaxedSimdAvailable()) impls.push(['wasm-relaxed-simd', wasmBuild(true)]);
if (wasmSimdAvailable()) impls.push(['wasm-simd', wasmBuild(false)]);
impls.push(['typescript', sgemmTypescript]);

function fill(length) {
  const x = new Float32Array(length);
  for (let i = 0; i < length; i++) x[i] = Math.random() * 2 - 1;
  return x;
}

const gflops = (flops, ms) => (flops / (ms * 1e6)).toFixed(1);

console.log(
  `node ${process.version}, ${cpus()[0]?.model ?? 'unknown cpu'}, ${cpus().length} cpus, ` +
    `load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}, default kernel ${defaultKernel}`,
);
console.log(
  '| shape | m | n | k | implementation | GFLOP/s (wall, median) | GFLOP/s (CPU time, median) | GFLOP/s (CPU time, best) |',
);
console.log('|---|---|---|---|---|---|---|---|');
for (const [label, transA, transB, m, n, k] of shapes) {
  const a = fill(m * k);
  const b = fill(k * n);
  const c = new Float32Array(m * n);
  const lda = transA ? m : k;
  const ldb = transB ? k : n;
  const flops = 2 * m * n * k;
  const runs = impls.map(([name, fn]) => ({
    name,
    call: () => fn(transA, transB, m, n, k, 1, a, 0, lda, b, 0, ldb, 0, c, 0, n),
    wall: [],
    cpu: [],
  }));
  // Warm up (JIT tiers, Wasm tier-up, buffer growth), then alternate the implementations.
  for (const run of runs) for (let i = 0; i < 3; i++) run.call();
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end || runs.some((run) => run.wall.length < 3)) {
    for (const run of runs) {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      run.call();
      run.wall.push(performance.now() - t0);
      const cpu = process.cpuUsage(cpu0);
      run.cpu.push((cpu.user + cpu.system) / 1000);
    }
  }
  for (const run of runs) {
    const wall = run.wall.sort((x, y) => x - y);
    const cpu = run.cpu.sort((x, y) => x - y);
    const mid = (xs) => xs[Math.floor(xs.length / 2)];
    console.log(
      `| ${label} | ${m} | ${n} | ${k} | ${run.name} | ${gflops(flops, mid(wall))} | ${gflops(flops, mid(cpu))} | ${gflops(flops, cpu[0])} |`,
    );
  }
}
