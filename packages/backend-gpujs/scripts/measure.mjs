// Compile vs run time per pass on one layer, per mode: node scripts/measure.mjs [modes] [layer]
// (build first: pnpm --filter @conv2d/backend-gpujs build). Layer: N,Cin,H,W,Cout,K,pad.
import { describeConv } from '@conv2d/core';
import { createGpujsBackend, probeMode } from '../dist/index.js';

const modes = (process.argv[2] ?? 'cpu,webasm,headlessgl').split(',');
const [n, cin, h, w, cout, k, pad] = (process.argv[3] ?? '1,64,56,56,64,3,1')
  .split(',')
  .map(Number);
const runs = Number(process.env.RUNS ?? 3);
const desc = describeConv([n, cin, h, w], [cout, cin, k, k], [cout], { padding: pad });
const rand = (size) => Float32Array.from({ length: size }, () => Math.random() * 2 - 1);
const x = { shape: desc.xShape, data: rand(desc.xSize) };
const wt = { shape: desc.wShape, data: rand(desc.wSize) };
const b = { shape: [cout], data: rand(cout) };
const dy = { shape: desc.yShape, data: rand(desc.ySize) };
const passes = {
  forward: (be) => be.forward(x, wt, b, { padding: pad }),
  dx: (be) => be.backward(dy, x, wt, { padding: pad }, { dx: true, dw: false, db: false }),
  dw: (be) => be.backward(dy, x, wt, { padding: pad }, { dx: false, dw: true, db: false }),
};
console.log(
  `layer N${n} Cin${cin} ${h}x${w} Cout${cout} ${k}x${k} p${pad}: ${(desc.flops / 1e9).toFixed(3)} GFLOP per pass`,
);
console.log('| mode | pass | first call (compile + run) ms | median run ms | GFLOP/s |');
console.log('| --- | --- | ---: | ---: | ---: |');
for (const mode of modes) {
  const a = await probeMode(mode);
  if (!a.available) {
    console.log(`| ${mode} | - | unavailable: ${a.reason} | | |`);
    continue;
  }
  const be = await createGpujsBackend({ mode });
  for (const [pass, run] of Object.entries(passes)) {
    let t = performance.now();
    await run(be);
    const first = performance.now() - t;
    const times = [];
    for (let i = 0; i < runs; i++) {
      t = performance.now();
      await run(be);
      times.push(performance.now() - t);
    }
    times.sort((p, q) => p - q);
    const med = times[Math.floor(times.length / 2)];
    const gflops = desc.flops / med / 1e6;
    console.log(
      `| ${mode} | ${pass} | ${first.toFixed(0)} | ${med.toFixed(0)} | ${gflops.toFixed(2)} |`,
    );
  }
  be.dispose();
}
