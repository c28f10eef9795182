// The two kernel families side by side in Node's modes, through plans on resident tensors (each
// call read back once, the families interleaved call by call so a busy CPU hits both alike):
// node scripts/measure-kernels.mjs [modes] [N,Cin,H,W,Cout,K,pad] (build first; headlessgl under
// `xvfb-run -a`). RUNS (default 5) calls per pass after one warm-up. The browser's modes (webgpu,
// webgl2, webgl) and tfjs-webgpu: scripts/browser-measure/run.mjs.
import { describeConv } from '@conv2d/core';
import { createGpujsBackend, probeMode } from '../dist/index.js';

const modes = (process.argv[2] ?? 'headlessgl,webasm').split(',');
const [n, cin, h, w, cout, k, pad] = (process.argv[3] ?? '1,64,56,56,64,3,1')
  .split(',')
  .map(Number);
const runs = Number(process.env.RUNS ?? 5);
const options = { padding: pad };
const desc = describeConv([n, cin, h, w], [cout, cin, k, k], null, options);
const rand = (size) => Float32Array.from({ length: size }, () => Math.random() * 2 - 1);
const only = (p) => ({ dx: p === 'dx', dw: p === 'dw', db: false });

async function family(mode, kernels) {
  const be = await createGpujsBackend({ mode, kernels });
  const plan = await be.plan({ xShape: desc.xShape, wShape: desc.wShape, bias: false, options });
  await plan.setWeights({ shape: desc.wShape, data: rand(desc.wSize) }, null);
  const x = await be.upload({ shape: desc.xShape, data: rand(desc.xSize) });
  const dy = await be.upload({ shape: desc.yShape, data: rand(desc.ySize) });
  const { saved } = await plan.forward(x, { save: true });
  const read = async (t) => {
    await t.read();
    t.dispose();
  };
  return {
    forward: async () => read((await plan.forward(x, { resident: true })).y),
    dx: async () =>
      read((await plan.backward(dy, saved, { resident: true, wanted: only('dx') })).dx),
    dw: async () =>
      read((await plan.backward(dy, saved, { resident: true, wanted: only('dw') })).dw),
    dispose: () => be.dispose(),
  };
}

const median = (t) => t.sort((p, q) => p - q)[Math.floor(t.length / 2)];
console.log(
  `${desc.xShape} * ${desc.wShape} pad ${pad}: ${(desc.flops / 1e9).toFixed(3)} GFLOP per pass, median ms of ${runs}`,
);
console.log('| mode | pass | gather | block | gather / block |');
console.log('| --- | --- | ---: | ---: | ---: |');
for (const mode of modes) {
  if (!(await probeMode(mode)).available) {
    console.log(`| ${mode} | unavailable | | | |`);
    continue;
  }
  const both = [await family(mode, 'gather'), await family(mode, 'block')];
  for (const pass of ['forward', 'dx', 'dw']) {
    for (const f of both) await f[pass]();
    const times = [[], []];
    for (let i = 0; i < runs; i++) {
      for (const [j, f] of both.entries()) {
        const t = performance.now();
        await f[pass]();
        times[j].push(performance.now() - t);
      }
    }
    const [g, b] = times.map(median);
    console.log(
      `| ${mode} | ${pass} | ${g.toFixed(1)} | ${b.toFixed(1)} | ${(g / b).toFixed(2)} |`,
    );
  }
  for (const f of both) f.dispose();
}
