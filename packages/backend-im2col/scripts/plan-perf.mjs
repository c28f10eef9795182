// Plan mode against call mode on a few bench layers, one thread: median ms of forward, dX and
// dW (+ db) over short runs (not a test; apps/bench gives the official figures). Plan mode sets
// the weights once and writes every result into reused `out` buffers; call mode is the one-shot
// API on plain arrays. Usage: pnpm --filter @conv2d/backend-im2col build && node
// scripts/plan-perf.mjs [--layers D,E] [--runs 15] [--modes call,plan] [--dx col2im]
// [--threads 1] [--before <dir>]: also call mode of another build of this package (its dist/index.js), in
// the same process, interleaved layer by layer (A/B on a shared, noisy machine).
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeConv } from '@conv2d/core';
import { createIm2colBackend } from '../dist/index.js';

const args = new Map();
for (let i = 2; i < process.argv.length; i += 2)
  args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const list = (k, d) => (args.get(k) ?? d).split(',');

// The bench layers (apps/bench/src/layers.ts), batch and sizes as there.
const LAYERS = {
  A: { x: [1, 3, 224, 224], w: [64, 3, 7, 7], o: { stride: 2, padding: 3 } },
  B: { x: [1, 64, 56, 56], w: [64, 64, 3, 3], o: { padding: 1 } },
  C: { x: [8, 128, 28, 28], w: [128, 128, 3, 3], o: { padding: 1 } },
  D: { x: [1, 256, 14, 14], w: [512, 256, 1, 1], o: { stride: 2 } },
  E: { x: [1, 32, 112, 112], w: [32, 1, 3, 3], o: { padding: 1, groups: 32 } },
  F: { x: [32, 1, 28, 28], w: [32, 1, 5, 5], o: { padding: 2 } },
};

function rand(n, seed) {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    a[i] = s / 2 ** 31 - 1;
  }
  return a;
}
const size = (s) => s.reduce((a, b) => a * b, 1);
const tensor = (shape, seed) => ({ shape, data: rand(size(shape), seed) });

async function median(runs, fn) {
  await fn();
  await fn();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const runs = Number(args.get('runs') ?? 15);
const threads = Number(args.get('threads') ?? 1);
const dxMethod = args.get('dx') ?? 'col2im';
console.log(
  `node ${process.version}, ${threads} thread(s), ${dxMethod}, median of ${runs}, load ${os.loadavg()[0].toFixed(1)}`,
);
console.log('layer mode   fwd ms   dX ms   dW ms');
const be = await createIm2colBackend({ threads, dxMethod });
const beforeDir = args.get('before');
const before = beforeDir
  ? await (
      await import(pathToFileURL(path.resolve(beforeDir, 'dist/index.js')).href)
    ).createIm2colBackend({ threads, dxMethod })
  : null;
const modes = list('modes', 'call,plan');
if (before) modes.unshift('before');
for (const key of list('layers', 'D,E')) {
  const L = LAYERS[key];
  const d = describeConv(L.x, L.w, [L.w[0]], L.o);
  const x = tensor(L.x, 1);
  const w = tensor(L.w, 2);
  const b = tensor([L.w[0]], 3);
  const dy = tensor([...d.yShape], 4);
  for (const mode of modes) {
    let times;
    if (mode === 'call' || mode === 'before') {
      const e = mode === 'call' ? be : before;
      times = [
        await median(runs, () => e.forward(x, w, b, L.o)),
        await median(runs, () => e.backward(dy, x, w, L.o, { dx: true, dw: false, db: false })),
        await median(runs, () => e.backward(dy, x, w, L.o, { dx: false, dw: true, db: true })),
      ];
    } else {
      const plan = await be.plan({ xShape: L.x, wShape: L.w, bias: true, options: L.o });
      await plan.setWeights(w, b);
      const y = { shape: [...d.yShape], data: new Float32Array(d.ySize) };
      const dx = { shape: L.x, data: new Float32Array(d.xSize) };
      const dw = { shape: L.w, data: new Float32Array(d.wSize) };
      const db = { shape: [L.w[0]], data: new Float32Array(L.w[0]) };
      const { saved } = await plan.forward(x, { save: true, out: y });
      times = [
        await median(runs, () => plan.forward(x, { out: y })),
        await median(runs, () =>
          plan.backward(dy, saved, { wanted: { dw: false, db: false }, out: { dx } }),
        ),
        await median(runs, () =>
          plan.backward(dy, saved, { wanted: { dx: false }, out: { dw, db } }),
        ),
      ];
      saved.dispose();
      plan.dispose();
    }
    console.log(
      `${key.padEnd(5)} ${mode.padEnd(6)} ${times.map((t) => t.toFixed(3).padStart(7)).join(' ')}`,
    );
  }
}
be.dispose();
before?.dispose();
