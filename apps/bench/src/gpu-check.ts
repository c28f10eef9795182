/**
 * The real-GPU check of issue 4, run on the device machine (scripts/gpu-check.sh): every
 * PyTorch fixture on one gpu.js mode (webgpu by default), then the bench layers plus the
 * issue's target layer, timed per pass with compile time apart. Prints one line per case and
 * per layer/pass, then a JSON summary; exits non-zero when a fixture fails or the mode is
 * unavailable (never silently another mode).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  type CallPhases,
  createGpujsBackend,
  type GpujsBackend,
  type GpujsMode,
} from '@conv2d/backend-gpujs';
import { createNaiveBackend } from '@conv2d/backend-naive';
import { loadFixtures } from '@conv2d/conformance/node';
import {
  compare,
  describeMismatch,
  errorBounds,
  randomTensor,
  runFixture,
  seededRandom,
} from '@conv2d/conformance/runner';
import {
  type Conv2dBackend,
  type Conv2dOptions,
  describeConv,
  type Tensor,
  type Wanted,
} from '@conv2d/core';
import { preparePlanPass } from './engines/conv2d-plan.js';
import type { PassInputs, PreparedPass } from './engines/types.js';
import { loadTfjsWebgpu, passWants, timePrepared, timeTfjsPass } from './gpu-check-tfjs.js';
import {
  LAYERS,
  type Layer,
  layerOptions,
  layerShapes,
  selectLayers,
  TARGET_LAYER,
} from './layers.js';
import type { Pass } from './passes.js';
import { median } from './stats.js';

const PASSES: { pass: 'forward' | 'dx' | 'dw'; wanted?: Wanted }[] = [
  { pass: 'forward' },
  { pass: 'dx', wanted: { dx: true, dw: false, db: false } },
  { pass: 'dw', wanted: { dx: false, dw: true, db: true } },
];

async function main(): Promise<number> {
  const { values } = parseArgs({
    allowNegative: true,
    options: {
      mode: { type: 'string', default: 'webgpu' },
      fixtures: { type: 'string', default: 'fixtures' },
      reps: { type: 'string', default: '5' },
      out: { type: 'string' },
      layers: { type: 'string', default: '' },
      // Layers whose GPU results are checked against the float64 oracle (slow on big layers).
      check: { type: 'string', default: 'T' },
      // Layers also timed (and checked, where --check says) with the block kernels, the family
      // webgpu ran before the tiled one.
      'other-kernels-layers': { type: 'string', default: 'T' },
      // tfjs-webgpu on the same device (--no-tfjs leaves it out)
      tfjs: { type: 'boolean', default: true },
    },
  });
  const mode = values.mode as GpujsMode;
  const reps = Number(values.reps);
  let backend: GpujsBackend;
  try {
    backend = await createGpujsBackend({ mode });
  } catch (e) {
    console.log(`UNAVAILABLE gpujs:${mode}: ${(e as Error).message}`);
    return 1;
  }
  console.log(`gpujs:${backend.mode} ready`);
  Error.stackTraceLimit = 50;
  await smoke(backend);

  let passed = 0;
  let failed = 0;
  for (const { file, fixture } of loadFixtures(values.fixtures)) {
    const r = await runFixture(backend, fixture);
    if (r.passed) passed++;
    else failed++;
    console.log(`${r.passed ? 'PASS' : 'FAIL'} gpujs:${mode} ${file}: ${r.message}`);
  }
  console.log(`${passed} passed, ${failed} failed`);

  const rows: Record<string, unknown>[] = [];
  const ids = values.layers ? values.layers.split(',') : [];
  let other: GpujsBackend | null = null;
  // the peer on the same device in the same run (after gpu.js set navigator.gpu from Dawn)
  const tfjs = values.tfjs ? await loadTfjsWebgpu() : 'not asked (--no-tfjs)';
  if (typeof tfjs === 'string') console.log(`UNAVAILABLE tfjs-webgpu: ${tfjs}`);
  else console.log('tfjs-webgpu ready (Node, Dawn)');
  for (const layer of selectLayers([TARGET_LAYER, ...LAYERS], ids)) {
    const shapes = layerShapes(layer);
    const options = layerOptions(layer);
    const random = seededRandom(42);
    const x = randomTensor(shapes.x, random);
    const w = randomTensor(shapes.w, random);
    const b = randomTensor(shapes.b, random);
    const desc = describeConv(shapes.x, shapes.w, shapes.b, options);
    const dy: Tensor = randomTensor(desc.yShape, random);
    const engines: [string, GpujsBackend][] = [[`gpujs:${mode}`, backend]];
    if (values['other-kernels-layers'].split(',').includes(layer.id)) {
      other ??= await createGpujsBackend({ mode, kernels: 'block' });
      engines.push([`gpujs:${mode} ${other.kernels}`, other]);
    }
    const oracle = values.check.split(',').includes(layer.id)
      ? await oracleResults(x, w, b, dy, options)
      : null;
    for (const [engine, be] of engines) {
      const tag = engine === `gpujs:${mode}` ? '' : ` [${engine.slice(`gpujs:${mode} `.length)}]`;
      if (oracle) {
        const verdict = await checkLayer(be, x, w, b, dy, options, oracle);
        console.log(`${layer.name}${tag} check against the oracle: ${verdict}`);
        rows.push({ layer: layer.name, engine, check: verdict });
        if (verdict !== 'ok') failed++;
      }
      for (const { pass, wanted } of PASSES) {
        const run = () =>
          pass === 'forward'
            ? be.forward(x, w, b, options)
            : be.backward(dy, x, w, options, wanted);
        const row = await timePass(be, run, reps, desc.flops);
        rows.push({ layer: layer.name, pass, engine, ...row });
        console.log(`${layer.name}${tag} ${pass}: ${describeRow(row)}`);
        if (row.phases)
          console.log(`${layer.name}${tag} ${pass} phases: ${describePhases(row.phases)}`);
        // A plan with resident tensors, as a training loop runs it (the bench's plan mode:
        // weights set once, inputs uploaded once, each result read back inside the timing).
        const planned = await timePlanPass(be, layer, pass, { x, w, b, dy }, reps, desc.flops);
        rows.push({ layer: layer.name, pass, engine: `${engine} plan`, ...planned });
        console.log(`${layer.name}${tag} ${pass} plan, resident: ${describeRow(planned)}`);
      }
    }
    if (typeof tfjs !== 'string') {
      const wants = oracle ? passWants(oracle.y, oracle.grads, oracle.bounds) : null;
      for (const { pass } of PASSES) {
        const row = await timeTfjsPass(
          tfjs,
          layer,
          pass,
          { x, w, b, dy },
          reps,
          desc.flops,
          wants?.[pass] ?? null,
        );
        rows.push({ layer: layer.name, pass, engine: 'tfjs-webgpu', ...row });
        const ours = rows.find(
          (r) => r.layer === layer.name && r.pass === pass && r.engine === `gpujs:${mode}`,
        ) as TimedRow | undefined;
        const ratio =
          ours?.medianMs && row.medianMs
            ? ` (gpujs:${mode} / tfjs-webgpu ${(ours.medianMs / row.medianMs).toFixed(2)}x)`
            : '';
        if (row.check && row.check !== 'ok') failed++;
        console.log(
          `${layer.name} ${pass} tfjs-webgpu: ${row.medianMs === undefined ? `${row.status?.toUpperCase()} ${row.reason}` : `${row.medianMs.toFixed(2)} ms, ${row.gflops?.toFixed(1)} GFLOP/s (first call ${row.firstCallMs?.toFixed(0)} ms)${row.check ? `, check ${row.check}` : ''}${ratio}`}`,
        );
      }
    }
  }
  if (typeof tfjs !== 'string') tfjs.dispose();
  const summary = {
    date: new Date().toISOString(),
    mode,
    fixtures: { passed, failed },
    rows,
    stats: backend.stats,
  };
  console.log(JSON.stringify(summary));
  if (values.out) writeFileSync(values.out, `${JSON.stringify(summary, null, 2)}\n`);
  backend.dispose();
  other?.dispose();
  return failed > 0 ? 1 : 0;
}

interface TimedRow {
  medianMs?: number;
  gflops?: number;
  firstCallMs?: number;
  phases?: PhaseSplit | null;
  status?: 'failed';
  reason?: string;
}

/** A first (compiling) call, then `reps` timed calls: the median and where the time went. */
async function timePass(
  backend: GpujsBackend,
  run: () => Promise<unknown>,
  reps: number,
  flops: number,
): Promise<TimedRow> {
  try {
    let t = performance.now();
    await run();
    const firstCallMs = performance.now() - t; // compile + one run
    const times: number[] = [];
    const phases: PhaseSplit[] = [];
    for (let i = 0; i < reps; i++) {
      t = performance.now();
      await run();
      const callMs = performance.now() - t;
      times.push(callMs);
      if (backend.stats.last) phases.push(splitCall(backend.stats.last, callMs));
    }
    const medianMs = median(times);
    return { medianMs, gflops: flops / medianMs / 1e6, firstCallMs, phases: medianPhases(phases) };
  } catch (e) {
    return { status: 'failed', reason: (e as Error).message };
  }
}

/** The same for a plan with resident tensors (bench/engines/conv2d-plan.ts). */
async function timePlanPass(
  backend: GpujsBackend,
  layer: Layer,
  pass: Pass,
  inputs: PassInputs,
  reps: number,
  flops: number,
): Promise<TimedRow> {
  let prepared: PreparedPass | null = null;
  try {
    const t = performance.now();
    prepared = await preparePlanPass(backend, layer, pass, inputs, true);
    const madeMs = performance.now() - t; // the plan: compiles, uploads the weights
    const { medianMs, gflops, firstCallMs = 0 } = await timePrepared(prepared, reps, flops);
    return { medianMs, gflops, firstCallMs: madeMs + firstCallMs, phases: null };
  } catch (e) {
    return { status: 'failed', reason: (e as Error).message };
  } finally {
    prepared?.release();
  }
}

function describeRow(row: TimedRow): string {
  if (row.status === 'failed' || row.medianMs === undefined) return `FAILED ${row.reason}`;
  return (
    `${row.medianMs.toFixed(2)} ms, ${row.gflops?.toFixed(1)} GFLOP/s ` +
    `(first call ${row.firstCallMs?.toFixed(0)} ms)`
  );
}

const PHASES = ['submitMs', 'waitMs', 'shapeMs', 'unpackMs', 'outsideMs'] as const;
type PhaseSplit = Record<(typeof PHASES)[number], number>;

/** One call's phases, plus the part of its time the engine did not see. */
function splitCall(phases: CallPhases, callMs: number): PhaseSplit {
  const { submitMs, waitMs, shapeMs, unpackMs } = phases;
  const outsideMs = callMs - (submitMs + waitMs + shapeMs + unpackMs);
  return { submitMs, waitMs, shapeMs, unpackMs, outsideMs };
}

/** The median of each phase over the timed calls. */
function medianPhases(calls: PhaseSplit[]): PhaseSplit | null {
  if (calls.length === 0) return null;
  return Object.fromEntries(PHASES.map((p) => [p, median(calls.map((c) => c[p]))])) as PhaseSplit;
}

/**
 * One line saying where a call's time went (see CallPhases in @conv2d/backend-gpujs): gpu.js's
 * synchronous part (argument copies, upload, dispatch), the wait for the device (GPU work and
 * the readback copy), gpu.js shaping results, our reorder into the tensor, and what the engine
 * did not see (validation, tensor wrapping, the queue).
 */
function describePhases(split: PhaseSplit | null): string {
  if (!split) return 'not reported';
  const labels: Record<keyof PhaseSplit, string> = {
    submitMs: 'submit',
    waitMs: 'device wait+readback',
    shapeMs: 'gpu.js shaping',
    unpackMs: 'unpack',
    outsideMs: 'outside the engine',
  };
  return `${PHASES.map((p) => `${labels[p]} ${split[p].toFixed(2)}`).join(' | ')} ms (medians)`;
}

/**
 * One small forward and backward before the fixtures, printing the whole stack of a failure:
 * the fixture lines carry only messages, and the GPU machine's time is too short to ask twice.
 */
async function smoke(backend: Conv2dBackend): Promise<void> {
  const random = seededRandom(7);
  const x = randomTensor([1, 2, 5, 5], random);
  const w = randomTensor([3, 2, 3, 3], random);
  const dy = randomTensor([1, 3, 3, 3], random);
  for (const [what, call] of [
    ['forward', () => backend.forward(x, w, null, {})],
    ['backward', () => backend.backward(dy, x, w, {})],
  ] as const) {
    try {
      await call();
      console.log(`smoke ${what}: ok`);
    } catch (e) {
      console.log(`smoke ${what}: ${(e as Error).stack ?? e}`);
    }
  }
}

type Oracle = Awaited<ReturnType<typeof oracleResults>>;

/** The float64 oracle's forward and full backward of one layer, with the suite's bounds. */
async function oracleResults(x: Tensor, w: Tensor, b: Tensor, dy: Tensor, options: Conv2dOptions) {
  const oracle = createNaiveBackend();
  const bounds = await errorBounds(x, w, b, dy, options);
  const y = await oracle.forward(x, w, b, options);
  const grads = await oracle.backward(dy, x, w, options);
  return { bounds, y, grads };
}

/** Forward and full backward of one layer against the oracle's, with the suite's bounds. */
async function checkLayer(
  backend: Conv2dBackend,
  x: Tensor,
  w: Tensor,
  b: Tensor,
  dy: Tensor,
  options: Conv2dOptions,
  { bounds, y: wantY, grads: want }: Oracle,
): Promise<string> {
  const gotY = await backend.forward(x, w, b, options);
  const got = await backend.backward(dy, x, w, options);
  const pairs: [string, Tensor | null | undefined, Tensor | null | undefined, Float64Array][] = [
    ['y', gotY, wantY, bounds.y],
    ['dx', got.dx, want.dx, bounds.dx],
    ['dw', got.dw, want.dw, bounds.dw],
    ['db', got.db, want.db, bounds.db],
  ];
  for (const [what, g, v, bound] of pairs) {
    if (!g || !v) return `${what} missing`;
    const m = compare(g.data, v.data, bound);
    if (m) return describeMismatch(what, m);
  }
  return 'ok';
}

// Dawn keeps the process alive after a webgpu kernel: exit explicitly.
main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(2);
  },
);
