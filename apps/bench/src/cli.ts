import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Conv2dBackend, createBackend, describeConv } from '@conv2d/core';
import { type BenchArgs, parseBenchArgs, USAGE } from './args.js';
import { runBrowserBench, selectBrowserEngines } from './browser-bench.js';
import { renderChart } from './chart.js';
import { modesOf, registryEngines, selectEngines } from './discover.js';
import {
  LAYERS,
  type Layer,
  layerOptions,
  layerShapes,
  quickLayer,
  selectLayers,
  TARGET_LAYER,
} from './layers.js';
import { describeMachine } from './machine.js';
import { PASSES } from './passes.js';
import { progressReporter } from './progress.js';
import { registerProviders } from './providers.js';
import { consoleTable, markdown } from './report.js';
import { type EngineInfo, type Results, type Row, rankAgainstPeers } from './results.js';
import { BROWSER_METHOD, DEFAULT_METHOD, type Method, QUICK_METHOD, runBench } from './runner.js';

type Engines = { rows: Row[]; engines: EngineInfo[] };

/** Every engine in Node: children per engine and layer (runner.ts). */
async function nodeRows(
  args: BenchArgs,
  layers: Layer[],
  method: Method,
  oracle: Conv2dBackend,
): Promise<Engines> {
  const engines = selectEngines(await registryEngines(args.providers), args.backends, args.peers);
  for (const e of engines) {
    if (!e.available) console.log(`unavailable: ${e.def.name} (${e.reason ?? 'cannot run here'})`);
  }
  const available = engines.filter((e) => e.available).map((e) => e.def.name);
  console.log(`engines: ${available.join(', ')}`);
  const progress = progressReporter();
  const rows = await runBench({
    layers,
    engines,
    method,
    oracle,
    providers: args.providers,
    onProgress: progress.update,
  });
  progress.end();
  return {
    rows,
    engines: engines.map((e) => ({
      name: e.def.name,
      peer: e.def.peer,
      modes: modesOf(e.def),
      available: e.available,
      ...(e.reason ? { reason: e.reason } : {}),
    })),
  };
}

/** `--browser`: our GPU modes and im2col beside tfjs in headless Chromium (browser-bench.ts). */
async function browserRows(
  args: BenchArgs,
  layers: Layer[],
  method: Method,
  oracle: Conv2dBackend,
): Promise<Engines> {
  const engines = selectBrowserEngines(args.backends);
  console.log(`engines: ${engines.map((e) => e.name).join(', ')}`);
  const progress = progressReporter();
  const total = engines.length * layers.length * PASSES.length;
  let done = 0;
  const result = await runBrowserBench({
    layers,
    engines,
    method,
    oracle,
    onProgress: (label, row) => {
      if (row) done++;
      progress.update({ done, total, label, ...(row ? { row } : {}) });
    },
  });
  progress.end();
  return result;
}

async function main(): Promise<number> {
  let args: ReturnType<typeof parseBenchArgs>;
  try {
    args = parseBenchArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  // the browser bench adds layer T, the GPU target the SwiftShader figures name
  const layerSet = args.browser ? [...LAYERS, TARGET_LAYER] : LAYERS;
  const layers = selectLayers(layerSet, args.layers).map((l) => (args.quick ? quickLayer(l) : l));
  const method = args.quick ? QUICK_METHOD : args.browser ? BROWSER_METHOD : DEFAULT_METHOD;
  const command = ['pnpm bench', ...process.argv.slice(2)].join(' ');
  const machine = describeMachine(command, args.quick);
  console.log(
    `conv2d bench on ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}${args.browser ? ', in headless Chromium (SwiftShader)' : ''}`,
  );
  const started = performance.now();
  await registerProviders(args.providers);
  const oracle = await createBackend('naive');
  const { rows, engines } = args.browser
    ? await browserRows(args, layers, method, oracle)
    : await nodeRows(args, layers, method, oracle);
  oracle.dispose();
  rankAgainstPeers(rows);
  console.log(`\n${consoleTable(rows)}`);
  console.log(`\n${rows.length} cells in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  const results: Results = {
    machine,
    method: {
      ...method,
      passes: 'forward; dx (input gradient); dw (weight + bias gradients)',
      modes: args.browser
        ? 'plan only, in headless Chromium (WebGL and WebGPU on SwiftShader): plan + setWeights once, forward with save, backward from the saved state; gpujs and tfjs on resident tensors, results read back in the timed region; im2col into reused buffers'
        : 'call: one-shot forward/backward on plain arrays; plan: plan + setWeights once, forward with save, backward from the saved state, results into reused out buffers (resident and read back in the timed region for gpujs); peers: plan, as their users run them',
    },
    layers: layers.map((l) => {
      const s = layerShapes(l);
      return {
        name: l.name,
        shape: `x [${s.x}] w [${s.w}] stride ${l.stride} pad ${l.padding} groups ${l.groups}`,
        flops: describeConv(s.x, s.w, s.b, layerOptions(l)).flops,
      };
    }),
    engines,
    rows,
  };
  if (args.out) {
    mkdirSync(args.out, { recursive: true });
    writeFileSync(join(args.out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(args.out, 'results.md'), markdown(results));
    writeFileSync(join(args.out, 'chart.svg'), await renderChart(rows));
    console.log(`\nwrote ${join(args.out, 'results.json')}, results.md, chart.svg`);
  }
  const bad = rows.filter((r) => r.status === 'wrong' || r.status === 'failed');
  if (bad.length) console.log(`${bad.length} cell(s) wrong or failed`);
  return bad.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(2);
  },
);
