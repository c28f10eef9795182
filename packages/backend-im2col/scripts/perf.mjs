// Quick timing of forward / dX / dW on the bench layers (not a test; the bench app gives
// the official comparisons). Usage: pnpm --filter @conv2d/backend-im2col build && node
// scripts/perf.mjs [--threads 1,2] [--layers B,C,A,E] [--dx col2im,transposed] [--runs 5]
import os from 'node:os';
import { describeConv } from '@conv2d/core';
import { gemmImplementation } from '@conv2d/gemm';
import { createIm2colBackend } from '../dist/index.js';

const args = new Map();
for (let i = 2; i < process.argv.length; i += 2)
  args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const list = (k, d) => (args.get(k) ?? d).split(',');

const layers = {
  A: { name: 'A stem 7x7/2', x: [1, 3, 224, 224], w: [64, 3, 7, 7], o: { stride: 2, padding: 3 } },
  B: { name: 'B 3x3 c64', x: [1, 64, 56, 56], w: [64, 64, 3, 3], o: { padding: 1 } },
  C: { name: 'C 3x3 c128 n8', x: [8, 128, 28, 28], w: [128, 128, 3, 3], o: { padding: 1 } },
  D: { name: 'D 1x1/2 c256-512', x: [1, 256, 14, 14], w: [512, 256, 1, 1], o: { stride: 2 } },
  E: {
    name: 'E depthwise 3x3',
    x: [1, 32, 112, 112],
    w: [32, 1, 3, 3],
    o: { padding: 1, groups: 32 },
  },
};

function rand(n) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() * 2 - 1;
  return a;
}
const size = (s) => s.reduce((a, b) => a * b, 1);

// The machine may be shared: the fastest run is the best estimate of an unloaded one, so
// `--stat min` (default) reports it; `--stat median` the median.
// `--clock cpu` times with process CPU time instead of wall clock: on a busy machine it
// shows single-thread efficiency (it cannot show thread speedups).
const stat = args.get('stat') ?? 'min';
const cpuClock = args.get('clock') === 'cpu';
const now = () => {
  if (!cpuClock) return performance.now();
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
async function time(runs, fn) {
  await fn();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t = now();
    await fn();
    times.push(now() - t);
  }
  times.sort((a, b) => a - b);
  return stat === 'median' ? times[Math.floor(times.length / 2)] : times[0];
}

const runs = Number(args.get('runs') ?? 5);
console.log(
  `gemm: ${gemmImplementation()}, node ${process.version}, ${stat} of ${runs} runs, ${cpuClock ? 'CPU' : 'wall'} clock, load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
console.log('layer            threads dx          fwd ms  GF/s |  dX ms  GF/s |  dW ms  GF/s');
for (const key of list('layers', 'B,C,A,E')) {
  const L = layers[key];
  const x = { shape: L.x, data: rand(size(L.x)) };
  const w = { shape: L.w, data: rand(size(L.w)) };
  const b = { shape: [L.w[0]], data: rand(L.w[0]) };
  const d = describeConv(L.x, L.w, [L.w[0]], L.o);
  const dy = { shape: d.yShape, data: rand(d.ySize) };
  const gf = (ms) => (d.flops / ms / 1e6).toFixed(1).padStart(5);
  for (const threads of list('threads', '1,2').map(Number)) {
    for (const dxMethod of list('dx', 'col2im,transposed')) {
      const be = await createIm2colBackend({ threads, dxMethod });
      const f = await time(runs, () => be.forward(x, w, b, L.o));
      const dx = await time(runs, () =>
        be.backward(dy, x, w, L.o, { dx: true, dw: false, db: false }),
      );
      const dw = await time(runs, () =>
        be.backward(dy, x, w, L.o, { dx: false, dw: true, db: false }),
      );
      console.log(
        `${L.name.padEnd(17)}${String(threads).padStart(7)} ${dxMethod.padEnd(11)}${f.toFixed(2).padStart(7)} ${gf(f)} |${dx.toFixed(2).padStart(7)} ${gf(dx)} |${dw.toFixed(2).padStart(7)} ${gf(dw)}`,
      );
      be.dispose();
    }
  }
}
