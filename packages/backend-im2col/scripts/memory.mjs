// Peak memory of one forward + backward on the large layer of issue 3 (Cin 64, 224x224, 3x3,
// pad 1; N images), against the tensors themselves. Not a test.
// Usage: node scripts/memory.mjs [N=4] [threads=2] [NCHW|NHWC] [workspaceBytes]
import { createIm2colBackend } from '../dist/index.js';

const N = Number(process.argv[2] ?? 4);
const threads = Number(process.argv[3] ?? 2);
const layout = process.argv[4] ?? 'NCHW';
const workspaceBytes = Number(process.argv[5] ?? 64 * 2 ** 20);
const MiB = 2 ** 20;
const base = process.memoryUsage().rss;
const backend = await createIm2colBackend({ threads, workspaceBytes });
const xShape = layout === 'NCHW' ? [N, 64, 224, 224] : [N, 224, 224, 64];
const x = { shape: xShape, data: new Float32Array(N * 64 * 224 * 224).fill(0.5) };
const w = { shape: [64, 64, 3, 3], data: new Float32Array(64 * 64 * 9).fill(0.01) };
const options = { padding: 1, layout };
const start = performance.now();
const y = await backend.forward(x, w, null, options);
const g = await backend.backward(y, x, w, options);
// x, y (also used as dy), dx, w, dw, db
const tensors = (x.data.length + y.data.length + g.dx.data.length + 2 * w.data.length + 64) * 4;
const peak = process.resourceUsage().maxRSS * 1024;
console.log(
  `N=${N} threads=${threads} ${layout} workspace ${(workspaceBytes / MiB).toFixed(0)} MiB: ` +
    `${((performance.now() - start) / 1000).toFixed(1)} s, tensors ${(tensors / MiB).toFixed(0)} MiB, ` +
    `peak RSS ${(peak / MiB).toFixed(0)} MiB, above tensors + the ${(base / MiB).toFixed(0)} MiB ` +
    `Node baseline: ${((peak - tensors - base) / MiB).toFixed(0)} MiB`,
);
backend.dispose();
