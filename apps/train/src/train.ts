import { seededRandom } from '@conv2d/conformance/runner';
import type { Conv2dBackend } from '@conv2d/core';
import { type DigitSet, type Digits, gatherBatch } from './data.js';
import { argmaxRows } from './loss.js';
import { CLASSES, initialParams, Net, type NetOptions, type Params } from './net.js';
import { permutation } from './random.js';
import { MomentumSgd } from './sgd.js';

export interface TrainConfig {
  epochs: number;
  /** Images per step. Those left over after the last full batch sit the epoch out (a new order each epoch). */
  batch: number;
  /** The learning rate of the first epoch; it decays to 0 along a half cosine over the epochs. */
  lr: number;
  momentum: number;
  /** Seeds the initial weights and the batch order. */
  seed: number;
  /** Images per forward when evaluating. */
  evalBatch: number;
}

/** What reaches >= 0.97 test accuracy within a minute on 2 cores with im2col (README). */
export const DEFAULT_CONFIG: TrainConfig = {
  epochs: 10,
  batch: 32,
  lr: 0.1,
  momentum: 0.9,
  seed: 15,
  evalBatch: 120,
};

export interface EpochStats {
  epoch: number;
  /** Mean training loss over the epoch's steps. */
  loss: number;
  /** Accuracy on the training batches as they were trained (before each step). */
  trainAccuracy: number;
  testAccuracy: number;
  /** Training images per second (forward, backward and update; evaluation not counted). */
  imagesPerSecond: number;
  seconds: number;
}

export interface TrainHooks {
  /** After each step; may return a promise (a page waits for a frame there). */
  onStep?(progress: { epoch: number; step: number; steps: number; loss: number }): unknown;
  /** After each epoch's evaluation, with that evaluation's test-set predictions. */
  onEpoch?(stats: EpochStats, predictions: Uint8Array): unknown;
  /** Polled before each step: true ends training there (the epoch so far is still evaluated). */
  stopped?(): boolean;
}

export interface TrainResult {
  history: EpochStats[];
  params: Params;
  /** confusion[label][predicted] on the test set after the last epoch. */
  confusion: number[][];
  /** Test-set predictions after the last epoch. */
  predictions: Uint8Array;
}

const now = () => performance.now();

/** The predicted class of every image of a set. */
export async function predict(net: Net, set: DigitSet, evalBatch: number): Promise<Uint8Array> {
  const predictions = new Uint8Array(set.count);
  const size = set.height * set.width;
  for (let start = 0; start < set.count; start += evalBatch) {
    const batch = Math.min(evalBatch, set.count - start);
    const x = set.images.subarray(start * size, (start + batch) * size);
    const logits = await net.logits(x, batch);
    argmaxRows(logits, CLASSES, predictions.subarray(start, start + batch));
  }
  return predictions;
}

export function accuracy(predictions: Uint8Array, labels: Uint8Array): number {
  let right = 0;
  for (let i = 0; i < labels.length; i++) if (predictions[i] === labels[i]) right++;
  return right / labels.length;
}

export function confusionMatrix(predictions: Uint8Array, labels: Uint8Array): number[][] {
  const m = Array.from({ length: CLASSES }, () => new Array<number>(CLASSES).fill(0));
  for (let i = 0; i < labels.length; i++) m[labels[i]][predictions[i]]++;
  return m;
}

/**
 * Whether plans on this backend return device tensors: gpu.js (its results stay in textures
 * until read), not the CPU engines (a device tensor there is a host array anyway).
 */
export function residentByDefault(backendName: string): boolean {
  return backendName.startsWith('gpujs');
}

/**
 * Cosine annealing per epoch (Loshchilov & Hutter, SGDR, without restarts): the last epochs
 * take small steps, so the test accuracy settles instead of swinging from epoch to epoch.
 */
export function cosineRate(lr: number, epoch: number, epochs: number): number {
  return (lr / 2) * (1 + Math.cos((Math.PI * (epoch - 1)) / epochs));
}

/** Trains the net on `digits.train` and evaluates it on `digits.test` after every epoch. */
export async function train(
  backend: Conv2dBackend,
  digits: Digits,
  config: TrainConfig,
  hooks: TrainHooks = {},
  netOptions: NetOptions = {},
): Promise<TrainResult> {
  const { train: set, test } = digits;
  const params = initialParams(config.seed);
  const net = new Net(backend, params, netOptions);
  const sgd = new MomentumSgd(params, config.lr, config.momentum);
  const random = seededRandom(config.seed + 1);
  const size = set.height * set.width;
  const x = new Float32Array(config.batch * size);
  const labels = new Uint8Array(config.batch);
  const guesses = new Uint8Array(config.batch);
  const steps = Math.floor(set.count / config.batch);
  const history: EpochStats[] = [];
  let predictions: Uint8Array = new Uint8Array(0);
  try {
    for (let epoch = 1; epoch <= config.epochs && !hooks.stopped?.(); epoch++) {
      sgd.lr = cosineRate(config.lr, epoch, config.epochs);
      const order = permutation(set.count, random);
      let lossSum = 0;
      let right = 0;
      let done = 0;
      const started = now();
      for (let step = 0; step < steps && !hooks.stopped?.(); step++) {
        gatherBatch(set, order.subarray(step * config.batch, (step + 1) * config.batch), x, labels);
        const { loss, logits } = await net.gradients(x, labels);
        argmaxRows(logits, CLASSES, guesses);
        right += accuracy(guesses, labels) * config.batch;
        sgd.step(params, net.grads);
        net.weightsChanged();
        lossSum += loss;
        done++;
        await hooks.onStep?.({ epoch, step: step + 1, steps, loss });
      }
      const seconds = (now() - started) / 1000;
      predictions = await predict(net, test, config.evalBatch);
      const stats: EpochStats = {
        epoch,
        loss: lossSum / Math.max(1, done),
        trainAccuracy: right / Math.max(1, done * config.batch),
        testAccuracy: accuracy(predictions, test.labels),
        imagesPerSecond: (done * config.batch) / seconds,
        seconds,
      };
      history.push(stats);
      await hooks.onEpoch?.(stats, predictions);
    }
  } finally {
    net.dispose();
  }
  return { history, params, confusion: confusionMatrix(predictions, test.labels), predictions };
}
