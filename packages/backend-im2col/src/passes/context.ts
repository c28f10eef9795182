import { type ConvDescription, describeConv } from '@conv2d/core';
import type { PackedA } from '@conv2d/gemm';
import type { Buffers, Stage } from '../buffers.js';
import type { Runner } from '../runner.js';

/** What every pass of one prepared convolution runs with. */
export interface PassContext {
  runner: Runner;
  /** The whole convolution, in the caller's layout. */
  d: ConvDescription;
  /** Threads of its passes (1: plain arrays; more: shared ones). */
  threads: number;
  get: Buffers;
}

/**
 * One batch chunk of a dX pass: images [n0, n1) of dx (the caller's layout, through `dxs`)
 * from the NCHW dY chunk `dy` of convolution `d` (that chunk's), with the kernel `w` in the
 * layout the method reads.
 */
export interface DxChunk {
  ctx: PassContext;
  d: ConvDescription;
  dy: Float32Array;
  w: Float32Array;
  dx: Float32Array;
  /** dx is a new array (all zeros), not a caller's `out`. */
  fresh: boolean;
  n0: number;
  n1: number;
  dxs: Stage;
  tileBytes: number;
  /** The method's kernel packed per group for the Wasm GEMM, or null. */
  packed: PackedA[] | null;
}

/** The convolution for `count` images in NCHW, the layout every kernel works in. */
export function withBatch(d: ConvDescription, count: number): ConvDescription {
  if (count === d.batch && d.layout === 'NCHW') return d;
  return describeConv([count, d.inChannels, d.inHeight, d.inWidth], d.wShape, d.bShape, {
    stride: [d.strideHeight, d.strideWidth],
    padding: [d.padTop, d.padBottom, d.padLeft, d.padRight],
    dilation: [d.dilationHeight, d.dilationWidth],
    groups: d.groups,
    layout: 'NCHW',
  });
}

/** Images per chunk so that the staged buffers (`floats` per image) fit `bytes`. */
export function imagesPerChunk(d: ConvDescription, floats: number, bytes: number): number {
  return Math.max(1, Math.min(d.batch, Math.floor(bytes / 4 / floats)));
}
