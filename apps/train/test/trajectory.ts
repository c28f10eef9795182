import { readFileSync } from 'node:fs';
import type { Conv2dBackend } from '@conv2d/core';
import { type DigitsFile, gatherBatch, parseDigits } from '../src/data.js';
import { NET, Net, type Params } from '../src/net.js';
import { MomentumSgd } from '../src/sgd.js';

/** apps/train/fixtures/trajectory.json (tooling/train-fixture/trajectory.py). */
export interface TrajectoryFixture {
  format: 'conv2d-train-trajectory/1';
  source: string;
  steps: number;
  batch: number;
  lr: number;
  momentum: number;
  order: number[];
  initial: Record<string, { shape: number[]; data: number[] }>;
  losses: number[];
  final: Record<string, { shape: number[]; data: number[] }>;
  perturbation: {
    stepErrorFactor: number;
    runs: number;
    losses: number[];
    final: Record<string, number[]>;
  };
}

const readJson = (path: string) => JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8'));

export const fixture = readJson('../fixtures/trajectory.json') as TrajectoryFixture;
export const digits = parseDigits(readJson('../data/digits.json') as DigitsFile);

/** Parameter names in the fixture, in the order of Params (w then b, per layer). */
const names = (kind: 'weight' | 'bias') => NET.map((l) => `${l.name}.${kind}`);

export function paramsOf(tensors: TrajectoryFixture['initial']): Params {
  return {
    w: names('weight').map((n) => Float32Array.from(tensors[n].data)),
    b: names('bias').map((n) => Float32Array.from(tensors[n].data)),
  };
}

/** Runs the fixture's steps on a backend: the loss of each step and the weights after. */
export async function replay(
  backend: Conv2dBackend,
  options: { resident?: boolean } = {},
): Promise<{ losses: number[]; params: Params }> {
  const params = paramsOf(fixture.initial);
  const net = new Net(backend, params, options);
  const sgd = new MomentumSgd(params, fixture.lr, fixture.momentum);
  const { batch } = fixture;
  const set = digits.train;
  const x = new Float32Array(batch * set.height * set.width);
  const labels = new Uint8Array(batch);
  const losses: number[] = [];
  try {
    for (let step = 0; step < fixture.steps; step++) {
      gatherBatch(set, fixture.order.slice(step * batch, (step + 1) * batch), x, labels);
      const { loss } = await net.gradients(x, labels);
      losses.push(loss);
      sgd.step(params, net.grads);
      net.weightsChanged();
    }
  } finally {
    net.dispose();
  }
  return { losses, params };
}

/*
 * The tolerance, derived (README "Step for step with PyTorch"). The fixture's generator ran
 * the same 50 steps 64 more times in float64, every gradient element carrying a relative error
 * of e = the step's float32 bound (the sum of tolerance.ts's sumErrorFactor over every pass on
 * the path from input to gradient, lambda = 8, plus 8u for ReLU, softmax, log, mean), with a
 * random sign, and the weights rounded to float32 after each update. Its `perturbation` holds
 * the largest deviation per step and per weight over the runs that kept torch's ReLU pattern
 * (a run that flips a unit leaves the trajectory by a finite jump, not a rounding error; those
 * are counted, not used): what errors at the conformance bounds' scale do to this trajectory
 * once its own dynamics amplify them. A backend may deviate by 4x that (independent sets of 64
 * runs reach up to 2x each other's maxima) plus e times the value itself (the float32 forward
 * of the compared step, which step 0's zero spread does not contain; for a weight, its own
 * rounding).
 */
export const SPREAD_MARGIN = 4;

export interface Deviation {
  what: string;
  got: number;
  want: number;
  bound: number;
  /** |got - want| / bound: above 1 fails. */
  ratio: number;
}

/** The value compared with the largest |got - want| / bound: losses, then the final weights. */
export function worstDeviation(run: { losses: number[]; params: Params }): Deviation {
  const e = fixture.perturbation.stepErrorFactor;
  const p = fixture.perturbation;
  let found: Deviation = { what: 'nothing', got: 0, want: 0, bound: 0, ratio: 0 };
  const scan = (what: string, got: ArrayLike<number>, want: number[], spread: number[]) => {
    for (let i = 0; i < want.length; i++) {
      const bound = SPREAD_MARGIN * spread[i] + e * Math.abs(want[i]);
      const error = Math.abs(got[i] - want[i]);
      const ratio = Number.isNaN(error) ? Number.POSITIVE_INFINITY : error / bound;
      if (ratio > found.ratio)
        found = { what: `${what}[${i}]`, got: got[i], want: want[i], bound, ratio };
    }
  };
  scan('loss of step', run.losses, fixture.losses, p.losses);
  for (const [kind, arrays] of [
    ['weight', run.params.w],
    ['bias', run.params.b],
  ] as const) {
    names(kind).forEach((n, k) => {
      scan(n, arrays[k], fixture.final[n].data, p.final[n]);
    });
  }
  return found;
}

export function describeDeviation(d: Deviation): string {
  return `${d.what} = ${d.got}, expected ${d.want} ± ${d.bound.toExponential(2)} (${d.ratio.toFixed(3)} of the bound)`;
}
