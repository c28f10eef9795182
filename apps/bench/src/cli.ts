import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBackend, describeConv } from '@conv2d/core';
import { parseBenchArgs, USAGE } from './args.js';
import { renderChart } from './chart.js';
import { modesOf, registryEngines, selectEngines } from './discover.js';
import { LAYERS, layerOptions, layerShapes, quickLayer, selectLayers } from './layers.js';
import { describeMachine } from './machine.js';
import { progressReporter } from './progress.js';
import { consoleTable, markdown } from './report.js';
import { type Results, rankAgainstPeers } from './results.js';
import { DEFAULT_METHOD, QUICK_METHOD, runBench } from './runner.js';

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
  const layers = selectLayers(LAYERS, args.layers).map((l) => (args.quick ? quickLayer(l) : l));
  const engines = selectEngines(await registryEngines(args.providers), args.backends, args.peers);
  const method = args.quick ? QUICK_METHOD : DEFAULT_METHOD;
  const command = ['pnpm bench', ...process.argv.slice(2)].join(' ');
  const machine = describeMachine(command, args.quick);
  console.log(`conv2d bench on ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}`);
  for (const e of engines) {
    if (!e.available) console.log(`unavailable: ${e.def.name} (${e.reason ?? 'cannot run here'})`);
  }
  console.log(
    `engines: ${engines
      .filter((e) => e.available)
      .map((e) => e.def.name)
      .join(', ')}`,
  );
  const started = performance.now();
  const progress = progressReporter();
  const oracle = await createBackend('naive');
  const rows = await runBench({
    layers,
    engines,
    method,
    oracle,
    providers: args.providers,
    onProgress: progress.update,
  });
  progress.end();
  oracle.dispose();
  rankAgainstPeers(rows);
  console.log(`\n${consoleTable(rows)}`);
  console.log(`\n${rows.length} cells in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  const results: Results = {
    machine,
    method: {
      ...method,
      passes: 'forward; dx (input gradient); dw (weight + bias gradients)',
      modes:
        'call: one-shot forward/backward on plain arrays; plan: plan + setWeights once, forward with save, backward from the saved state, results into reused out buffers (resident and read back in the timed region for gpujs); peers: plan, as their users run them',
    },
    layers: layers.map((l) => {
      const s = layerShapes(l);
      return {
        name: l.name,
        shape: `x [${s.x}] w [${s.w}] stride ${l.stride} pad ${l.padding} groups ${l.groups}`,
        flops: describeConv(s.x, s.w, s.b, layerOptions(l)).flops,
      };
    }),
    engines: engines.map((e) => ({
      name: e.def.name,
      peer: e.def.peer,
      modes: modesOf(e.def),
      available: e.available,
      ...(e.reason ? { reason: e.reason } : {}),
    })),
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
