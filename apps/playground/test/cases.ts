import { describeConv } from '@conv2d/core';
import {
  type ExampleConfig,
  exampleInput,
  optionsOf,
  SEED_CONFIG,
  shapesOf,
} from '../src/example.js';
import { computeSteps, type ExampleInput, type Steps } from '../src/steps.js';

/**
 * Strided, dilated, asymmetrically padded, and floor() drops a column (10 - 3 is not a
 * multiple of 3, so the transposed convolution's border grows): the unit tests' and the
 * browser tests' second case next to the seed example.
 */
export const STRIDED_CONFIG: ExampleConfig = {
  ...SEED_CONFIG,
  inChannels: 2,
  height: 6,
  width: 8,
  stride: [2, 3],
  padding: [1, 2, 2, 0],
  dilation: [2, 1],
};

/** The page's example input for a configuration (output shape from core). */
export function exampleFor(c: ExampleConfig): ExampleInput {
  const s = shapesOf(c);
  return exampleInput(c, describeConv(s.x, s.w, s.b, optionsOf(c)).yShape);
}

export function stepsFor(c: ExampleConfig): Steps {
  return computeSteps(exampleFor(c));
}
