import type { ConvDescription } from '@conv2d/core';
import {
  gemmImplementation,
  type PackedA,
  packedWindowFits,
  type ResidentSgemmArgs,
  type SgemmArgs,
  sgemm,
  sgemmWasmPacked,
  sgemmWasmResident,
  wasmCol2im,
  wasmResident,
} from '@conv2d/gemm';
import { col2imTile, im2colTile, isPointwise } from './im2col.js';
import type { Job, Task } from './job.js';
import {
  RESIDENT_TILE_FLOATS,
  type ResidentLayout,
  residentTile,
  stageBand,
  unstageBand,
} from './resident.js';

/**
 * The GEMM tasks of a job (forward, dW, col2im dX) on one image group: the im2col matrix built
 * tile by tile within the thread's workspace share, inside the Wasm GEMM's memory where it runs.
 */

/**
 * Tile of an im2col block within `floats`: [kc rows, pc columns]. The columns are split evenly
 * (in whole 8-column micro-panels where the bound allows) rather than into full tiles and a
 * remainder: a 1,045 + 1,045 split of a task runs faster than 1,783 + 307, whose small last
 * tile pays a whole tile's fixed costs (its band staged, W packed) for a sixth of the work.
 */
export function tileShape(kLen: number, pLen: number, floats: number): [number, number] {
  if (kLen <= floats) return [kLen, evenSplit(pLen, Math.max(1, Math.floor(floats / kLen)))];
  const pc = Math.max(1, Math.min(pLen, 16, floats));
  return [Math.max(1, Math.floor(floats / pc)), pc];
}

/** The part size that splits `length` into as few near-equal parts of at most `most` as possible. */
export function evenSplit(length: number, most: number): number {
  if (length <= most) return Math.max(1, length);
  const even = Math.ceil(length / Math.ceil(length / most));
  const panels = Math.ceil(even / 8) * 8;
  return panels <= most ? panels : even;
}

/** Where a tile of the im2col matrix lives: [array, offset, leading dimension]. */
type Tile = [Float32Array, number, number];

function im2colSource(
  job: Job,
  ws: Float32Array,
  n: number,
  g: number,
  k0: number,
  k1: number,
  p0: number,
  p1: number,
): Tile {
  const d = job.desc;
  const x = job.x as Float32Array;
  const P = d.outHeight * d.outWidth;
  if (isPointwise(d)) {
    return [x, (n * d.inChannels + g * d.inChannelsPerGroup + k0) * P + p0, P];
  }
  const xBase = n * d.inChannels * d.inHeight * d.inWidth;
  if (job.cache) {
    const offset = ((n * d.groups + g) * d.reductionLength + k0) * P + p0;
    if (job.fillCache) im2colTile(d, x, xBase, g, k0, k1, p0, p1, job.cache, offset, P);
    return [job.cache, offset, P];
  }
  im2colTile(d, x, xBase, g, k0, k1, p0, p1, ws, 0, p1 - p0);
  return [ws, 0, p1 - p0];
}

/**
 * Whether the im2col tiles of this job are built inside the Wasm GEMM's memory (resident.ts)
 * rather than in the JS workspace: no JS im2col, no copy of each tile into the kernel. A job
 * with a kept X_hat (`cache`) cuts its tiles the same way, so a plan's saved state gives the
 * one-shot numbers bit for bit (the same products summed in the same order).
 */
function residentTiles(job: Job): boolean {
  return !isPointwise(job.desc) && gemmImplementation() === 'wasm-simd';
}

/**
 * sgemmWasmResident, or its packed form where the job's weights are packed (`job.packed`) and
 * this product's op(A), rows row0.. x depth k0.. of the group's packed operand, is a window the
 * packed GEMM takes: the same products either way.
 */
function residentProduct(
  packed: PackedA | undefined,
  row0: number,
  k0: number,
  ...args: ResidentSgemmArgs
): void {
  if (!packed || !packedWindowFits(packed, row0, args[2], k0, args[4])) {
    sgemmWasmResident(...args);
    return;
  }
  const [, transB, m, n, k, alpha, , , , b, bOffset, ldb, beta, c, cOffset, ldc] = args;
  const window = { packed, row0, k0 };
  sgemmWasmPacked(window, transB, m, n, k, alpha, b, bOffset, ldb, beta, c, cOffset, ldc);
}

/** Copies the tile (rows x width) at the layout's tileAt into X_hat (row stride P) at `to`. */
function keepTile(
  layout: ResidentLayout,
  rows: number,
  width: number,
  cache: Float32Array,
  to: number,
  P: number,
) {
  const region = wasmResident(layout.floats); // the same reservation: its output tile stays
  const from = layout.tileAt;
  for (let r = 0; r < rows; r++) {
    const at = from + r * width;
    cache.set(region.subarray(at, at + width), to + r * P);
  }
}

/**
 * Where a GEMM task's operands start: the task's first output row in y (or dY) and its first
 * row of W (or of the dW accumulator), plus the sizes every GEMM pass needs.
 */
function gemmRows(d: ConvDescription, n: number, g: number, task: Task) {
  const K = d.reductionLength;
  const P = d.outHeight * d.outWidth;
  const first = g * d.outChannelsPerGroup + task.co0; // the task's first output channel
  return {
    K,
    P,
    first,
    rows: task.co1 - task.co0,
    yBase: (n * d.outChannels + first) * P,
    wBase: first * K,
    xBase: n * d.inChannels * d.inHeight * d.inWidth,
    groupBase: (n * d.inChannels + g * d.inChannelsPerGroup) * d.inHeight * d.inWidth,
  };
}

/** y[n, channels co0..co1 of group g, positions p0..p1) through im2col + GEMM. */
export function forwardGemm(job: Job, ws: Float32Array, n: number, g: number, task: Task) {
  if (residentTiles(job)) {
    forwardResident(job, n, g, task);
    return;
  }
  const { p0, p1 } = task;
  const d = job.desc;
  const { K, P, first, rows, yBase, wBase } = gemmRows(d, n, g, task);
  const y = job.y as Float32Array;
  if (job.b) {
    for (let oc = 0; oc < rows; oc++) {
      const row = yBase + oc * P;
      y.fill(job.b[first + oc], row + p0, row + p1);
    }
  }
  const [kc, pc] = tileShape(K, p1 - p0, job.tileFloats);
  for (let pt = p0; pt < p1; pt += pc) {
    const pe = Math.min(p1, pt + pc);
    for (let kt = 0; kt < K; kt += kc) {
      const ke = Math.min(K, kt + kc);
      const beta = kt === 0 && !job.b ? 0 : 1;
      const [src, off, ld] = im2colSource(job, ws, n, g, kt, ke, pt, pe);
      sgemm(
        false,
        false,
        rows,
        pe - pt,
        ke - kt,
        1,
        job.w as Float32Array,
        wBase + kt,
        K,
        src,
        off,
        ld,
        beta,
        y,
        yBase + pt,
        P,
      );
    }
  }
}

/**
 * forwardGemm on the Wasm kernel: per tile, the input band, the im2col tile and the output
 * tile all live in the kernel's memory. The output tile starts as the bias and is copied out
 * once, so y is written once and never read (filling y with the bias and having the GEMM read
 * it back cost two more passes over the largest tensor).
 */
function forwardResident(job: Job, n: number, g: number, task: Task) {
  const { p0, p1 } = task;
  const d = job.desc;
  const { K, P, first, rows, yBase, wBase, xBase, groupBase } = gemmRows(d, n, g, task);
  const y = job.y as Float32Array;
  const w = job.w as Float32Array;
  const x = job.x as Float32Array;
  const bias = job.b;
  const floats = Math.min(job.tileFloats, RESIDENT_TILE_FLOATS);
  const [kc, fit] = tileShape(K, p1 - p0, floats);
  // the output tile (rows x pc) within the same bound
  const pc = evenSplit(p1 - p0, Math.min(fit, Math.max(1, Math.floor(floats / rows))));
  for (let pt = p0; pt < p1; pt += pc) {
    const pe = Math.min(p1, pt + pc);
    const width = pe - pt;
    const layout = stageBand(
      d,
      x,
      groupBase,
      0,
      d.inChannelsPerGroup,
      pt,
      pe,
      kc * pc,
      rows * width,
    );
    const out = layout.extraAt;
    if (bias) {
      const region = wasmResident(layout.floats);
      for (let oc = 0; oc < rows; oc++) {
        region.fill(bias[first + oc], out + oc * width, out + (oc + 1) * width);
      }
    }
    for (let kt = 0; kt < K; kt += kc) {
      const ke = Math.min(K, kt + kc);
      residentTile(d, layout, x, xBase, g, kt, ke, pt, pe);
      // X_hat for backward, once per position range (channel-split tasks share it)
      if (job.cache && task.co0 === 0) {
        const at = ((n * d.groups + g) * K + kt) * P + pt;
        keepTile(layout, ke - kt, width, job.cache, at, P);
      }
      const beta = kt === 0 && !bias ? 0 : 1;
      residentProduct(
        job.packed?.[g],
        task.co0,
        kt,
        false,
        false,
        rows,
        width,
        ke - kt,
        1,
        w,
        wBase + kt,
        K,
        null,
        layout.tileAt,
        width,
        beta,
        null,
        out,
        width,
      );
    }
    // a fresh view: the GEMM may have grown the memory
    const region = wasmResident(layout.floats);
    if (width === P) {
      y.set(region.subarray(out, out + rows * width), yBase); // whole rows: one copy
      continue;
    }
    for (let oc = 0; oc < rows; oc++) {
      const from = out + oc * width;
      y.set(region.subarray(from, from + width), yBase + oc * P + pt);
    }
  }
}

/** acc[slot] rows co0..co1 of group g += dY_hat · X_hat over positions p0..p1 of image n. */
export function weightGemm(
  job: Job,
  ws: Float32Array,
  slot: number,
  n: number,
  g: number,
  task: Task,
) {
  const { p0, p1 } = task;
  const d = job.desc;
  const { K, P, rows, yBase: dyBase, wBase, xBase, groupBase } = gemmRows(d, n, g, task);
  const dy = job.y as Float32Array;
  const accBase = slot * d.wSize + wBase;
  const resident = residentTiles(job);
  const [kc, pc] = tileShape(
    K,
    p1 - p0,
    resident ? Math.min(job.tileFloats, RESIDENT_TILE_FLOATS) : job.tileFloats,
  );
  const x = job.x as Float32Array;
  const acc = job.acc as Float32Array;
  for (let pt = p0; pt < p1; pt += pc) {
    const pe = Math.min(p1, pt + pc);
    // the tiles of a kept X_hat are read where they are (sgemm copies them in)
    const layout =
      resident && !job.cache
        ? stageBand(d, x, groupBase, 0, d.inChannelsPerGroup, pt, pe, kc * pc)
        : null;
    for (let kt = 0; kt < K; kt += kc) {
      const ke = Math.min(K, kt + kc);
      // B, the X_hat tile: in the Wasm memory (null: at its offset there), or a JS array
      let tile: [Float32Array | null, number, number];
      if (layout) {
        residentTile(d, layout, x, xBase, g, kt, ke, pt, pe);
        tile = [null, layout.tileAt, pe - pt];
      } else {
        tile = im2colSource(job, ws, n, g, kt, ke, pt, pe);
      }
      const [b, bOffset, ldb] = tile;
      const args: ResidentSgemmArgs = [
        false,
        true,
        rows,
        ke - kt,
        pe - pt,
        1,
        dy,
        dyBase + pt,
        P,
        b,
        bOffset,
        ldb,
        1,
        acc,
        accBase + kt,
        K,
      ];
      if (layout) sgemmWasmResident(...args);
      else sgemm(...(args as SgemmArgs));
    }
  }
}

export function inputCol2im(
  job: Job,
  ws: Float32Array,
  n: number,
  g: number,
  c0: number,
  c1: number,
) {
  const d = job.desc;
  const K = d.reductionLength;
  const KK = d.kernelHeight * d.kernelWidth;
  const P = d.outHeight * d.outWidth;
  const cog = d.outChannelsPerGroup;
  const dy = job.y as Float32Array;
  const w = job.w as Float32Array;
  const dx = job.dx as Float32Array;
  const dyBase = (n * d.outChannels + g * cog) * P;
  const wBase = g * cog * K;
  if (isPointwise(d)) {
    // dX_hat is dX itself: no scatter, no workspace.
    const dxBase = (n * d.inChannels + g * d.inChannelsPerGroup + c0) * P;
    sgemm(true, false, c1 - c0, P, cog, 1, w, wBase + c0, K, dy, dyBase, P, 0, dx, dxBase, P);
    return;
  }
  const dxBase = n * d.inChannels * d.inHeight * d.inWidth;
  const k0 = c0 * KK;
  const k1 = c1 * KK;
  // On the Wasm GEMM, dX_hat tiles and the dX channels they add onto stay in its memory.
  const wasm = gemmImplementation() === 'wasm-simd';
  const tileFloats = wasm ? Math.min(job.tileFloats, RESIDENT_TILE_FLOATS) : job.tileFloats;
  const [kc, pc] = tileShape(k1 - k0, P, tileFloats);
  const groupBase = dxBase + g * d.inChannelsPerGroup * d.inHeight * d.inWidth;
  for (let pt = 0; pt < P; pt += pc) {
    const pe = Math.min(P, pt + pc);
    // The rows these positions add onto, staged and copied back around the tile's k loop.
    const layout = wasm ? stageBand(d, dx, groupBase, c0, c1, pt, pe, kc * pc, 0, false) : null;
    const band = layout?.band;
    for (let kt = k0; kt < k1; kt += kc) {
      const ke = Math.min(k1, kt + kc);
      if (layout && band) {
        const ld = pe - pt;
        residentProduct(
          job.packed?.[g],
          kt,
          0,
          true,
          false,
          ke - kt,
          ld,
          cog,
          1,
          w,
          wBase + kt,
          K,
          dy,
          dyBase + pt,
          P,
          0,
          null,
          layout.tileAt,
          ld,
        );
        wasmCol2im(band.geometry, 0, c1 - c0, kt - k0, ke - k0, pt, pe, layout.tileAt, ld);
        continue;
      }
      sgemm(
        true,
        false,
        ke - kt,
        pe - pt,
        cog,
        1,
        w,
        wBase + kt,
        K,
        dy,
        dyBase + pt,
        P,
        0,
        ws,
        0,
        pe - pt,
      );
      col2imTile(d, dx, dxBase, g, kt, ke, pt, pe, ws, 0, pe - pt);
    }
    if (layout) unstageBand(d, layout, dx, groupBase); // nothing to copy back without a band
  }
}
