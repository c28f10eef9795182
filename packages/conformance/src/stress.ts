import { createNaiveBackend } from '@conv2d/backend-naive';
import {
  type Conv2dBackend,
  type Gradients,
  isConv2dError,
  type Layout,
  type Tensor,
  type Wanted,
} from '@conv2d/core';
import fc from 'fast-check';
import { defaultLimits, type RandomConv, randomConv } from './cases.js';
import { type ConvInputs, makeInputs } from './checks.js';
import { compare, describeMismatch, errorBounds } from './tolerance.js';

/*
 * The stress group, without any test framework: the child process of stress-child.ts runs it
 * (so an early exit of the process fails it), and describeConformance runs it in-process for a
 * backend that names no provider module. Every check returns the problems it found.
 */

export type StressPass = { kind: 'forward' } | { kind: 'backward'; wanted: Wanted };

/** Forward, and backward asking for every combination a training step or a frozen layer uses. */
const PASSES: StressPass[] = [
  { kind: 'forward' },
  { kind: 'backward', wanted: {} },
  { kind: 'backward', wanted: { dx: false } },
  { kind: 'backward', wanted: { dw: false, db: false } },
  { kind: 'backward', wanted: { dx: false, db: false } },
];

export interface StressCall {
  conv: RandomConv;
  pass: StressPass;
}

type Outcome = { y: Tensor } | { grads: Gradients };

export interface StressSettings {
  /** Multiplies the call counts (default 1); slow engines pass less. */
  scale?: number;
  /** Progress and figures, one line each. */
  log?: (line: string) => void;
}

export interface StressCheck {
  name: string;
  problems: string[];
  /** What was measured, one line. */
  summary: string;
}

/** Random convolutions within what the backend supports (layouts, groups, dilation). */
export function stressCalls(backend: Conv2dBackend, count: number, seed: number): StressCall[] {
  const caps = backend.capabilities;
  const limits = {
    ...defaultLimits,
    maxGroups: caps.groups ? defaultLimits.maxGroups : 1,
    maxDilation: caps.dilation ? defaultLimits.maxDilation : 1,
  };
  return Array.from({ length: count }, (_, i) => {
    const layout = caps.layouts[i % caps.layouts.length] as Layout;
    const [conv] = fc.sample(randomConv(layout, limits), { seed: seed + i, numRuns: 1 });
    return { conv: conv as RandomConv, pass: PASSES[i % PASSES.length] as StressPass };
  });
}

/** Calls with their inputs, made from the seed. */
function callsWithInputs(backend: Conv2dBackend, count: number, seed: number) {
  const calls = stressCalls(backend, count, seed);
  return { calls, inputs: calls.map((c) => makeInputs(c.conv)) };
}

export function startCall(backend: Conv2dBackend, pass: StressPass, i: ConvInputs) {
  if (pass.kind === 'forward') {
    return backend.forward(i.x, i.w, i.b, i.options).then((y): Outcome => ({ y }));
  }
  return backend
    .backward(i.dy, i.x, i.w, i.options, pass.wanted)
    .then((grads): Outcome => ({ grads }));
}

const oracle = createNaiveBackend();

/** Differences between a call's outcome and the oracle's on the same inputs (principled bounds). */
export async function checkOutcome(
  call: StressCall,
  inputs: ConvInputs,
  got: Outcome,
): Promise<string[]> {
  const want = await startCall(oracle, call.pass, inputs);
  const bounds = await errorBounds(inputs.x, inputs.w, inputs.b, inputs.dy, inputs.options);
  const rows: [string, Tensor | null, Tensor | null, Float64Array, boolean][] =
    'y' in got && 'y' in want
      ? [['y', got.y, want.y, bounds.y, true]]
      : 'grads' in got && 'grads' in want && call.pass.kind === 'backward'
        ? (['dx', 'dw', 'db'] as const).map((g) => [
            g,
            got.grads[g],
            want.grads[g],
            bounds[g],
            (call.pass as { wanted: Wanted }).wanted[g] ?? true,
          ])
        : [];
  const problems: string[] = [];
  for (const [what, g, v, bound, wanted] of rows) {
    if (!wanted) {
      if (g !== null) problems.push(`${what} returned but not asked for`);
    } else if (!g || !v) {
      problems.push(`${what} missing`);
    } else if (g.shape.join() !== v.shape.join()) {
      problems.push(`${what} shape [${g.shape}] vs [${v.shape}]`);
    } else {
      const m = compare(g.data, v.data, bound);
      if (m) problems.push(describeMismatch(what, m));
    }
  }
  if (rows.length === 0) problems.push('the outcome is not of the pass asked for');
  return problems.map((p) => `${describeCall(call)}: ${p}`);
}

function describeCall(call: StressCall): string {
  const { xShape, wShape, bias, options } = call.conv;
  const pass =
    call.pass.kind === 'forward' ? 'forward' : `backward ${JSON.stringify(call.pass.wanted)}`;
  return `${pass} x [${xShape}] w [${wShape}]${bias ? ' +b' : ''} ${JSON.stringify(options)}`;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Settles every promise, or reports those still pending after `ms` (timer unref'd). */
async function settleWithin<T>(
  promises: Promise<T>[],
  ms: number,
): Promise<PromiseSettledResult<T>[] | string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`calls still pending after ${ms} ms`), ms);
    (timer as { unref?: () => void }).unref?.();
  });
  try {
    return await Promise.race([Promise.allSettled(promises), late]);
  } finally {
    clearTimeout(timer);
  }
}

const SETTLE_MS = 120_000;

/** Problems of settled calls: a rejection, or an outcome off the oracle's on `inputs`. */
async function checkSettled(
  calls: StressCall[],
  inputs: ConvInputs[],
  settled: PromiseSettledResult<Outcome>[] | string,
): Promise<string[]> {
  if (typeof settled === 'string') return [settled];
  const problems: string[] = [];
  for (const [k, s] of settled.entries()) {
    const call = calls[k] as StressCall;
    if (s.status === 'rejected') problems.push(`${describeCall(call)}: ${messageOf(s.reason)}`);
    else problems.push(...(await checkOutcome(call, inputs[k] as ConvInputs, s.value)));
  }
  return problems;
}

/** Runs the calls all at once on one backend and checks every outcome against the oracle. */
async function runTogether(
  backend: Conv2dBackend,
  calls: StressCall[],
  inputs: ConvInputs[],
): Promise<string[]> {
  const pending = calls.map((c, k) => startCall(backend, c.pass, inputs[k] as ConvInputs));
  return checkSettled(calls, inputs, await settleWithin(pending, SETTLE_MS));
}

/**
 * 40+ overlapping calls of mixed shapes, options and passes on one instance, in three waves as
 * a script awaits them (`Promise.all`): every forward, every backward, then all together.
 */
export async function overlappingCalls(
  backend: Conv2dBackend,
  count: number,
): Promise<StressCheck> {
  const { calls, inputs } = callsWithInputs(backend, count, 0x5eed);
  const pick = (forward: boolean) =>
    calls.flatMap((c, k) => ((c.pass.kind === 'forward') === forward ? [k] : []));
  const waves = [pick(true), pick(false), calls.map((_, k) => k)];
  const problems: string[] = [];
  for (const wave of waves) {
    const found = await runTogether(
      backend,
      wave.map((k) => calls[k] as StressCall),
      wave.map((k) => inputs[k] as ConvInputs),
    );
    problems.push(...found);
  }
  const total = waves.reduce((a, w) => a + w.length, 0);
  return {
    name: 'overlapping calls',
    problems,
    summary: `${total} calls in 3 waves of ${waves.map((w) => w.length).join(', ')}`,
  };
}

function copyInputs(i: ConvInputs): ConvInputs {
  const copy = (t: Tensor) => ({ shape: [...t.shape], data: t.data.slice() });
  return { x: copy(i.x), w: copy(i.w), b: i.b && copy(i.b), dy: copy(i.dy), options: i.options };
}

/**
 * The caller overwrites x, w, b and dy (with NaN, which would reach every result it touched)
 * right after each call starts: results must be those of the values at call time. The calls
 * overlap, so a backend that queues work must have taken its copy before queueing.
 */
export async function inputsChangedInPlace(
  backend: Conv2dBackend,
  count: number,
): Promise<StressCheck> {
  const { calls, inputs } = callsWithInputs(backend, count, 0xc0ffee);
  const atCallTime = inputs.map(copyInputs);
  const pending = calls.map((c, k) => {
    const i = inputs[k] as ConvInputs;
    const started = startCall(backend, c.pass, i);
    for (const t of [i.x, i.w, i.b, i.dy]) t?.data.fill(Number.NaN);
    return started;
  });
  const settled = await settleWithin(pending, SETTLE_MS);
  const problems = await checkSettled(calls, atCallTime, settled);
  return {
    name: 'inputs changed in place after the call',
    problems,
    summary: `${count} overlapping calls, x/w/b/dy overwritten with NaN right after each started`,
  };
}

/**
 * `dispose()` with calls in flight, once right after they start and once after the first one
 * settled: every promise settles, with a correct result or a Conv2dError `disposed`; later
 * calls reject with `disposed`.
 */
export async function disposeInFlight(
  create: () => Promise<Conv2dBackend> | Conv2dBackend,
  count: number,
  settleMs = SETTLE_MS,
): Promise<StressCheck> {
  const problems: string[] = [];
  const tally = { results: 0, disposed: 0 };
  for (const when of ['at once', 'after the first result'] as const) {
    const backend = await create();
    const { calls, inputs } = callsWithInputs(backend, count, when === 'at once' ? 0xd15 : 0xd16);
    const pending = calls.map((c, k) => startCall(backend, c.pass, inputs[k] as ConvInputs));
    if (when === 'at once') backend.dispose();
    else
      await Promise.race(pending).then(
        () => backend.dispose(),
        () => backend.dispose(),
      );
    const settled = await settleWithin(pending, settleMs);
    if (typeof settled === 'string') problems.push(`dispose ${when}: ${settled}`);
    for (const [k, s] of (typeof settled === 'string' ? [] : settled).entries()) {
      const call = calls[k] as StressCall;
      if (s.status === 'fulfilled') {
        tally.results++;
        problems.push(...(await checkOutcome(call, inputs[k] as ConvInputs, s.value)));
      } else if (isConv2dError(s.reason) && s.reason.code === 'disposed') {
        tally.disposed++;
      } else {
        problems.push(
          `dispose ${when}: ${describeCall(call)} rejected with ${messageOf(s.reason)}, not a Conv2dError 'disposed'`,
        );
      }
    }
    const passes: StressPass[] = [{ kind: 'forward' }, { kind: 'backward', wanted: {} }];
    const late = await settleWithin(
      passes.map((pass) => startCall(backend, pass, inputs[0] as ConvInputs)),
      settleMs,
    );
    for (const [k, s] of (typeof late === 'string' ? [] : late).entries()) {
      const what = s.status === 'fulfilled' ? 'a result' : messageOf(s.reason);
      if (!(s.status === 'rejected' && isConv2dError(s.reason) && s.reason.code === 'disposed')) {
        problems.push(
          `${passes[k]?.kind} after dispose gave ${what}, not a Conv2dError 'disposed'`,
        );
      }
    }
    if (typeof late === 'string') problems.push(`calls after dispose: ${late}`);
  }
  return {
    name: 'dispose with calls in flight',
    problems,
    summary: `2 x ${count} calls: ${tally.results} correct results, ${tally.disposed} 'disposed' rejections`,
  };
}

export interface MemoryFigures {
  rss: number;
  heapUsed: number;
  arrayBuffers: number;
}

function memory(): MemoryFigures {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers };
}

const MiB = 1024 * 1024;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

/** The long run's convolution: 1 x 1 x 128 x 128 by 1x1: 64 KiB results for 16k MACs. */
const LONG_RUN: Omit<RandomConv, 'options'> & { side: number } = {
  side: 128,
  xShape: [1, 1, 128, 128],
  wShape: [1, 1, 1, 1],
  bias: true,
  seed: 0x10,
};

/**
 * A long run of small calls (forward and full backward in turn) with flat memory. RSS is taken
 * after a warm-up (caches, compiled kernels, pools: what a steady state holds) and at the end,
 * after a garbage collection when `gc` is given. The limit is half of what keeping one 64 KiB
 * result per call would add: such a leak exceeds it twofold, while a steady heap moves by a few
 * MiB (up to 20 MiB measured with gpu.js). The calls are at least LONG_RUN_LEAST, so the limit
 * (64 MiB or more) stays well above that noise.
 */
export async function longRun(
  backend: Conv2dBackend,
  requested: number,
  gc: (() => void) | null,
): Promise<StressCheck & { before: MemoryFigures; after: MemoryFigures }> {
  const calls = Math.max(LONG_RUN_LEAST, requested);
  const layout = backend.capabilities.layouts.includes('NCHW')
    ? 'NCHW'
    : (backend.capabilities.layouts[0] as Layout);
  const side = LONG_RUN.side;
  const conv: RandomConv = {
    ...LONG_RUN,
    xShape: layout === 'NCHW' ? [1, 1, side, side] : [1, side, side, 1],
    options: { layout },
  };
  const inputs = makeInputs(conv);
  const call = (k: number) => startCall(backend, PASSES[k % 2] as StressPass, inputs);
  const resultBytes = inputs.x.data.byteLength;
  const warmUp = Math.ceil(calls / 10);
  const problems: string[] = [];
  for (let k = 0; k < warmUp; k++) await call(k);
  gc?.();
  const before = memory();
  let last: Outcome | null = null;
  for (let k = 0; k < calls; k++) last = await call(k);
  gc?.();
  const after = memory();
  if (last) {
    const checked = { conv, pass: PASSES[(calls - 1) % 2] as StressPass };
    problems.push(...(await checkOutcome(checked, inputs, last)));
  }
  const limit = (calls * resultBytes) / 2;
  const growth = after.rss - before.rss;
  if (growth > limit) {
    problems.push(
      `RSS grew by ${mib(growth)} over ${calls} calls (limit ${mib(limit)}, half of one ${resultBytes / 1024} KiB result per call)`,
    );
  }
  return {
    name: 'long run with flat memory',
    problems,
    summary:
      `${calls} calls after ${warmUp} warm-up, gc ${gc ? 'yes' : 'no'}: ` +
      `RSS ${mib(before.rss)} -> ${mib(after.rss)} (growth ${mib(growth)}, limit ${mib(limit)}), ` +
      `heap ${mib(before.heapUsed)} -> ${mib(after.heapUsed)}, ` +
      `array buffers ${mib(before.arrayBuffers)} -> ${mib(after.arrayBuffers)}`,
    before,
    after,
  };
}

/** The least calls of the long run (its limit grows with the count: see longRun). */
export const LONG_RUN_LEAST = 2048;

/** Default counts at scale 1. */
export const STRESS_COUNTS = { overlapping: 48, inPlace: 12, dispose: 8, longRun: 3000 };

/**
 * Every stress check on backends from `create` (one instance for the overlapping, in-place and
 * long-run checks, fresh ones to dispose), each logged as it ends. Returns all checks; the
 * instance is disposed at the end.
 */
export async function runStress(
  create: () => Promise<Conv2dBackend> | Conv2dBackend,
  settings: StressSettings & { gc?: (() => void) | null } = {},
): Promise<StressCheck[]> {
  const scale = settings.scale ?? 1;
  const log = settings.log ?? (() => {});
  const n = (count: number, least: number) => Math.max(least, Math.round(count * scale));
  const checks: StressCheck[] = [];
  let since = performance.now();
  const record = (check: StressCheck) => {
    checks.push(check);
    const ms = Math.round(performance.now() - since);
    since = performance.now();
    const verdict = check.problems.length === 0 ? 'ok' : 'FAILED';
    log(`${check.name}: ${verdict} in ${ms} ms; ${check.summary}`);
    for (const p of check.problems.slice(0, 10)) log(`  ${p}`);
  };
  // A check that throws is a failed check; the others still run.
  const attempt = async (name: string, check: () => Promise<StressCheck>) => {
    try {
      record(await check());
    } catch (e) {
      record({ name, problems: [`threw ${messageOf(e)}`], summary: 'did not finish' });
    }
  };
  const backend = await create();
  try {
    await attempt('overlapping calls', () =>
      overlappingCalls(backend, n(STRESS_COUNTS.overlapping, 40)),
    );
    await attempt('inputs changed in place', () =>
      inputsChangedInPlace(backend, n(STRESS_COUNTS.inPlace, 8)),
    );
    await attempt('long run', () =>
      longRun(backend, n(STRESS_COUNTS.longRun, LONG_RUN_LEAST), settings.gc ?? null),
    );
  } finally {
    backend.dispose();
  }
  await attempt('dispose', () => disposeInFlight(create, n(STRESS_COUNTS.dispose, 6)));
  return checks;
}

/** What the stress child is told (one JSON argument). */
export interface StressChildConfig {
  /** Module exporting `backendProvider`, resolved from `from` (a file URL). */
  provider: string;
  from: string;
  /** Backend spec: `name` or `name:variant`, created through that provider. */
  spec: string;
  createOptions?: Record<string, unknown>;
  scale?: number;
}

/** The child's last line starts with this, followed by a JSON summary: it ran to the end. */
export const STRESS_DONE = 'stress done';
/** Every other line of the child's report starts with this. */
export const STRESS_LINE = 'stress: ';
