// The page of run.mjs: gather and block kernels (plans, resident tensors) beside tfjs-webgpu
// (resident tensors), each pass timed to its result on the host (one read per call, for all).
import { createGpujsBackend } from '@conv2d/backend-gpujs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';

const params = new URLSearchParams(location.search);
const REPS = Number(params.get('reps'));
/** The bench's 3x3 layers: B (x [1,64,56,56]) and T (x [8,64,56,56]); T2, T4 smaller batches. */
const LAYERS = {
  B: 1,
  T2: 2,
  T4: 4,
  T: 8,
};
const C = 64;
const HW = 56;

function values(n, seed) {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 9301 + 49297) % 233280;
    a[i] = s / 233280 - 0.5;
  }
  return a;
}
const median = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];
/** Largest difference relative to the largest magnitude (float32 sums in other orders). */
function relDiff(a, b) {
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}
/**
 * `a` of `shape` with its axes in `order` (out axis k is in axis order[k]): NCHW (ours) to NHWC
 * (tfjs) is [0, 2, 3, 1], OIHW to HWIO [2, 3, 1, 0], and back [0, 3, 1, 2], [3, 2, 0, 1].
 */
function permute(a, shape, order) {
  const strides = shape.map((_, k) => shape.slice(k + 1).reduce((p, q) => p * q, 1));
  const outShape = order.map((k) => shape[k]);
  const out = new Float32Array(a.length);
  const idx = [0, 0, 0, 0];
  for (let i = 0; i < out.length; i++) {
    let rest = i;
    for (let k = 3; k >= 0; k--) {
      idx[k] = rest % outShape[k];
      rest = Math.floor(rest / outShape[k]);
    }
    out[i] = a[order.reduce((at, axis, k) => at + idx[k] * strides[axis], 0)];
  }
  return out;
}

async function ours(mode, kernels, n) {
  const be = await createGpujsBackend({ mode, kernels });
  const xShape = [n, C, HW, HW];
  const wShape = [C, C, 3, 3];
  const plan = await be.plan({ xShape, wShape, bias: false, options: { padding: 1 } });
  await plan.setWeights({ shape: wShape, data: values(C * C * 9, 2) }, null);
  const x = await be.upload({ shape: xShape, data: values(n * C * HW * HW, 1) });
  const dy = await be.upload({ shape: xShape, data: values(n * C * HW * HW, 3) });
  const f = await plan.forward(x, { save: true, resident: true });
  f.y.dispose();
  const read = async (t) => {
    const data = (await t.read()).data;
    t.dispose();
    return data;
  };
  const only = (p) => ({ dx: p === 'dx', dw: p === 'dw', db: false });
  return {
    name: `gpujs:${be.mode} ${kernels}`,
    forward: async () => read((await plan.forward(x, { resident: true })).y),
    dx: async () =>
      read((await plan.backward(dy, f.saved, { resident: true, wanted: only('dx') })).dx),
    dw: async () =>
      read((await plan.backward(dy, f.saved, { resident: true, wanted: only('dw') })).dw),
    layout: 'NCHW',
  };
}

async function tfjsWebgpu(n) {
  await tf.setBackend('webgpu');
  await tf.ready();
  const xShape = [n, HW, HW, C];
  const x = tf.tensor(permute(values(n * C * HW * HW, 1), [n, C, HW, HW], [0, 2, 3, 1]), xShape);
  const dy = tf.tensor(permute(values(n * C * HW * HW, 3), [n, C, HW, HW], [0, 2, 3, 1]), xShape);
  const w = tf.tensor(permute(values(C * C * 9, 2), [C, C, 3, 3], [2, 3, 1, 0]), [3, 3, C, C]);
  const read = async (t) => {
    const data = await t.data();
    t.dispose();
    return data;
  };
  const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined };
  return {
    name: 'tfjs-webgpu',
    forward: () => read(tf.conv2d(x, w, 1, 'same')),
    dx: () => read(tf.conv2dTranspose(dy, w, xShape, 1, 'same')),
    dw: () =>
      read(
        tf
          .engine()
          .runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: [3, 3, C, C] }),
      ),
    layout: 'NHWC',
  };
}

const results = [];
try {
  for (const layer of params.get('layers').split(',')) {
    const n = LAYERS[layer];
    const engines = [];
    for (const mode of params.get('modes').split(',')) {
      for (const family of (params.get('families') ?? 'gather,block').split(',')) {
        engines.push(await ours(mode, family, n));
      }
    }
    engines.push(await tfjsWebgpu(n));
    for (const pass of ['forward', 'dx', 'dw']) {
      const times = engines.map(() => []);
      const first = [];
      for (const [i, e] of engines.entries()) first[i] = await e[pass](); // compile and warm
      // Checked against each other (in NCHW/OIHW order) before timing.
      const ref = first[0];
      for (const [i, e] of engines.entries()) {
        const got =
          e.layout === 'NCHW'
            ? first[i]
            : pass === 'dw'
              ? permute(first[i], [3, 3, C, C], [3, 2, 0, 1])
              : permute(first[i], [n, HW, HW, C], [0, 3, 1, 2]);
        const diff = relDiff(got, ref);
        if (!(diff < 1e-4))
          results.push({ layer, pass, engine: e.name, problem: `differs by ${diff}` });
      }
      for (let r = 0; r < REPS; r++) {
        for (const [i, e] of engines.entries()) {
          const t0 = performance.now();
          await e[pass]();
          times[i].push(performance.now() - t0);
        }
      }
      for (const [i, e] of engines.entries()) {
        const row = { layer, n, pass, engine: e.name, medianMs: +median(times[i]).toFixed(1) };
        results.push(row);
        console.log(
          `${layer} ${pass} ${e.name}: ${row.medianMs} ms (${times[i].map((t) => t.toFixed(0)).join(' ')})`,
        );
      }
    }
  }
} catch (e) {
  results.push({ problem: String(e?.stack ?? e) });
}
window.__results = results;
