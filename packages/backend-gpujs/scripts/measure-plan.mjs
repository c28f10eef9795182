// Per-call time of one-shot calls vs a plan (host arrays in and out) vs a plan on resident
// tensors, per mode (the three interleaved): node scripts/measure-plan.mjs [modes] [N,Cin,H,W,Cout,K,pad]
// (build first; headlessgl under `xvfb-run -a`). RUNS (default 5) calls after one warm-up each.
import { describeConv } from '@conv2d/core';
import { createGpujsBackend, probeMode } from '../dist/index.js';

const modes = (process.argv[2] ?? 'webasm,headlessgl').split(',');
const [n, cin, h, w, cout, k, pad] = (process.argv[3] ?? '1,32,28,28,32,3,1')
  .split(',')
  .map(Number);
const runs = Number(process.env.RUNS ?? 5);
const options = { padding: pad };
const desc = describeConv([n, cin, h, w], [cout, cin, k, k], [cout], options);
const rand = (size) => Float32Array.from({ length: size }, () => Math.random() * 2 - 1);
const x = { shape: desc.xShape, data: rand(desc.xSize) };
const wt = { shape: desc.wShape, data: rand(desc.wSize) };
const b = { shape: [cout], data: rand(cout) };
const dy = { shape: desc.yShape, data: rand(desc.ySize) };

/** Median ms of each call, interleaved (a, b, c, a, b, c, ...) so a busy CPU hits all alike. */
async function medians(calls) {
  for (const call of calls) await call();
  const times = calls.map(() => []);
  for (let i = 0; i < runs; i++) {
    for (const [k, call] of calls.entries()) {
      const t = performance.now();
      await call();
      times[k].push(performance.now() - t);
    }
  }
  return times.map((t) => t.sort((p, q) => p - q)[Math.floor(t.length / 2)]);
}

console.log(
  `layer N${n} Cin${cin} ${h}x${w} Cout${cout} ${k}x${k} p${pad}: ${(desc.flops / 1e9).toFixed(4)} GFLOP per pass, median of ${runs}`,
);
console.log('| mode | pass | one-shot ms | plan, host arrays ms | plan, resident ms |');
console.log('| --- | --- | ---: | ---: | ---: |');
for (const mode of modes) {
  if (!(await probeMode(mode)).available) {
    console.log(`| ${mode} | unavailable | | | |`);
    continue;
  }
  const be = await createGpujsBackend({ mode });
  const plan = await be.plan({ xShape: desc.xShape, wShape: desc.wShape, bias: true, options });
  await plan.setWeights(wt, b);
  const xd = await be.upload(x);
  const dyd = await be.upload(dy);
  const saved = (await plan.forward(x, { save: true })).saved;
  const free = (r) => {
    for (const t of Object.values(r)) t?.dispose?.();
  };
  const rows = {
    forward: [
      () => be.forward(x, wt, b, options),
      () => plan.forward(x),
      async () => (await plan.forward(xd, { resident: true })).y.dispose(),
    ],
    backward: [
      () => be.backward(dy, x, wt, options),
      () => plan.backward(dy, saved),
      async () => free(await plan.backward(dyd, saved, { resident: true })),
    ],
  };
  for (const [pass, calls] of Object.entries(rows)) {
    const ms = await medians(calls);
    console.log(`| ${mode} | ${pass} | ${ms.map((m) => m.toFixed(1)).join(' | ')} |`);
  }
  const { uploads, readbacks, compiles } = be.stats;
  console.log(
    `|   | stats | uploads ${uploads}, readbacks ${readbacks}, compiles ${compiles} | | |`,
  );
  be.dispose();
}
