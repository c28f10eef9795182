// The page of run.mjs: plans against one-shot calls in the browser's gpu.js modes, and every
// PyTorch fixture through a plan.
import { createGpujsBackend } from '@conv2d/backend-gpujs';
import { createNaiveBackend } from '@conv2d/backend-naive';
import {
  compare,
  describeMismatch,
  errorBounds,
  parseFixture,
  randomTensor,
  runFixture,
  runPasses,
  seededRandom,
} from '@conv2d/conformance/runner';

const fixtures = Object.entries(
  import.meta.glob('../../../conformance/fixtures/*.json', { eager: true, import: 'default' }),
).map(([path, json]) => parseFixture(json, path.slice(path.lastIndexOf('/') + 1)));

/** Deterministic values in [-0.5, 0.5). */
function values(n, seed) {
  const a = new Float32Array(n);
  let s = seed * 9301 + 49297;
  for (let i = 0; i < n; i++) {
    s = (s * 9301 + 49297) % 233280;
    a[i] = s / 233280 - 0.5;
  }
  return a;
}
const tensor = (shape, seed) => ({
  shape,
  data: values(
    shape.reduce((a, b) => a * b),
    seed,
  ),
});
const same = (a, b) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

const LAYERS = [
  ['4 lanes, stride [2, 1]', [2, 8, 7, 6], [8, 8, 3, 3], true, { padding: 1, stride: [2, 1] }],
  [
    'NHWC grouped, dilated',
    [2, 6, 5, 6],
    [6, 2, 3, 3],
    false,
    { layout: 'NHWC', groups: 3, padding: [1, 0, 0, 1], dilation: 2 },
  ],
  ['3 -> 4 channels', [1, 3, 9, 9], [4, 3, 3, 3], true, {}],
  ['its own output as input', [1, 8, 8, 8], [8, 8, 3, 3], true, { padding: 1 }],
];

/** One layer: resident plan calls (with a later call in between) equal one-shot calls. */
async function check(be, [, xShape, wShape, bias, options], seed) {
  const x = tensor(xShape, seed);
  const w = tensor(wShape, seed + 1);
  const b = bias ? tensor([wShape[0]], seed + 2) : null;
  const y = await be.forward(x, w, b, options);
  const dy = tensor(y.shape, seed + 3);
  const g = await be.backward(dy, x, w, options);
  const plan = await be.plan({ xShape, wShape, bias, options });
  await plan.setWeights(w, b);
  const readbacks = be.stats.readbacks;
  const xd = await be.upload(x);
  const dyd = await be.upload(dy);
  const f = await plan.forward(xd, { resident: true, save: true });
  const later = await plan.forward(tensor(xShape, seed + 7), { resident: true });
  const r = await plan.backward(dyd, f.saved, { resident: true });
  const made = [xd, dyd, f.y, later.y, r.dx, r.dw, r.db];
  const problems = [];
  if (be.stats.readbacks !== readbacks) problems.push('read back before read()');
  for (const [name, t, want] of [
    ['y', f.y, y],
    ['dx', r.dx, g.dx],
    ['dw', r.dw, g.dw],
    ['db', r.db, g.db],
  ]) {
    if (!same((await t.read()).data, want.data)) problems.push(`${name} differs from one-shot`);
  }
  if (xShape.join() === y.shape.join()) {
    const again = await plan.forward(f.y, { resident: true });
    made.push(again.y);
    const want = await be.forward(y, w, b, options);
    if (!same((await again.y.read()).data, want.data)) problems.push('chained y differs');
  }
  const host = await plan.forward(x);
  if (!same(host.y.data, y.data)) problems.push('host-array y differs');
  plan.dispose();
  for (const t of made) t.dispose();
  return problems;
}

/**
 * Random convolutions sized for the tiled kernels (16-40 channels per group, so most passes take
 * a tile, several tiles per dispatch, reductions not a multiple of the tile depth), depthwise ones
 * and smaller ones (the block and gather fallbacks), against the float64 oracle within the
 * suite's bounds, through one-shot calls and plans.
 */
const PROPERTY_CASES = 32;
const oracle = createNaiveBackend();

function randomCase(random) {
  const pick = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
  // A fifth depthwise (one input channel per group, the WGSL depthwise forward in webgpu).
  const depthwise = random() < 0.2;
  const groups = depthwise ? pick(1, 12) : pick(1, 2);
  const wide = random() < 0.75;
  const cin = depthwise ? groups : groups * (wide ? pick(16, 40) : pick(1, 6));
  const cout = groups * (depthwise ? pick(1, 2) : wide ? pick(16, 40) : pick(1, 6));
  const kh = pick(1, 4);
  const kw = pick(1, 4);
  const options = {
    stride: [pick(1, 3), pick(1, 3)],
    dilation: [pick(1, 2), pick(1, 2)],
    padding: [pick(0, 2), pick(0, 2), pick(0, 2), pick(0, 2)],
    groups,
    layout: random() < 0.5 ? 'NCHW' : 'NHWC',
  };
  const n = pick(1, 3);
  const h = pick(kh * 2 + 2, 13);
  const w = pick(kw * 2 + 2, 13);
  const xShape = options.layout === 'NCHW' ? [n, cin, h, w] : [n, h, w, cin];
  return { xShape, wShape: [cout, cin / groups, kh, kw], bias: random() < 0.5, options };
}

async function properties(be) {
  const problems = [];
  for (let seed = 1; seed <= PROPERTY_CASES; seed++) {
    const random = seededRandom(seed);
    const c = randomCase(random);
    const x = randomTensor(c.xShape, random);
    const w = randomTensor(c.wShape, random);
    const b = c.bias ? randomTensor([c.wShape[0]], random) : null;
    const y = await oracle.forward(x, w, b, c.options).catch(() => null);
    if (!y) continue; // a kernel larger than the padded input: not a case
    const dy = randomTensor(y.shape, random);
    const ref = await runPasses(oracle, { x, w, b, dy, options: c.options });
    const bounds = await errorBounds(x, w, b, dy, c.options);
    for (const api of ['call', 'plan']) {
      const got = await runPasses(be, { x, w, b, dy, options: c.options }, api);
      for (const [name, g, r, bound] of [
        ['y', got.y, ref.y, bounds.y],
        ['dx', got.grads.dx, ref.grads.dx, bounds.dx],
        ['dw', got.grads.dw, ref.grads.dw, bounds.dw],
        ['db', got.grads.db, ref.grads.db, bounds.db],
      ]) {
        if (!r) continue;
        const m = compare(g.data, r.data, bound);
        if (m)
          problems.push(`seed ${seed} ${JSON.stringify(c)} ${api}: ${describeMismatch(name, m)}`);
      }
    }
  }
  return problems;
}

const results = [];
try {
  const params = new URLSearchParams(location.search);
  const modes = params.get('modes').split(',');
  // Every family a mode runs: webgpu's tiled (default) and block kernels are both kept correct.
  const runs = modes.flatMap((mode) =>
    mode === 'webgpu'
      ? [
          [mode, 'tiled'],
          [mode, 'block'],
        ]
      : [[mode, undefined]],
  );
  for (const [mode, kernels] of runs) {
    const be = await createGpujsBackend({ mode, kernels });
    const label = kernels ? `${be.mode} ${be.kernels}` : be.mode;
    results.push({
      mode: label,
      layer: `${PROPERTY_CASES} random convolutions against the float64 oracle`,
      problems: await properties(be),
    });
    for (const [i, layer] of LAYERS.entries()) {
      results.push({ mode: label, layer: layer[0], problems: await check(be, layer, 5 + 4 * i) });
    }
    const failed = [];
    for (const f of fixtures) {
      const r = await runFixture(be, f, 'plan');
      if (!r.passed) failed.push(`${r.name}: ${r.message}`);
    }
    results.push({
      mode: label,
      layer: `${fixtures.length} fixtures through plans`,
      problems: failed,
    });
    if (be.stats.textures !== 0) {
      results.push({ mode: label, layer: 'all', problems: [`${be.stats.textures} textures left`] });
    }
    be.dispose();
  }
} catch (e) {
  results.push({ mode: '?', layer: '?', problems: [String(e?.stack ?? e)] });
}
window.__results = results;
