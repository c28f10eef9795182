import type { ConvDescription } from '@conv2d/core';
import { wasmIm2col, wasmResident } from '@conv2d/gemm';
import { im2colTile } from './im2col.js';

/**
 * im2col tiles built inside the Wasm GEMM's memory (its resident region), so that the GEMM
 * reads them where they are written instead of copying a JS-built tile in. The image group is
 * copied in once per task and the tiles are gathered from it by `wasmIm2col` (SIMD row copies,
 * about 3x cheaper than the JS loop); an image group too large to stage is gathered by the JS
 * loop straight into the memory instead.
 */

/**
 * Largest im2col tile in the Wasm memory (floats, 1 MiB): the tile is still in L2 when the
 * kernel packs it. Measured as fast as 0.25-4 MiB tiles (within noise) and clearly faster than
 * whole-image tiles of several MiB.
 */
export const RESIDENT_TILE_FLOATS = 1 << 18;

/** Largest image group staged in the Wasm memory (floats, 4 MiB). */
const STAGED_IMAGE_FLOATS = 1 << 20;

/** Where the current task's image group and tiles sit in the resident region. */
export interface ResidentImage {
  /** Float offset of the tiles in the resident region (after the staged image, if any). */
  tileAt: number;
  staged: boolean;
}

/**
 * Prepares the resident region for a task on image group (xBase, g) whose tiles hold at most
 * `tileFloats` floats: copies the group's channels in when they fit, so `residentTile` can
 * gather from them.
 */
export function stageImage(
  d: ConvDescription,
  x: Float32Array,
  xBase: number,
  g: number,
  tileFloats: number,
): ResidentImage {
  const floats = d.inChannelsPerGroup * d.inHeight * d.inWidth;
  if (floats > STAGED_IMAGE_FLOATS) {
    wasmResident(tileFloats);
    return { tileAt: 0, staged: false };
  }
  // Tiles start on a 16-float (64-byte) boundary after the image.
  const tileAt = Math.ceil(floats / 16) * 16;
  const start = xBase + g * floats;
  wasmResident(tileAt + tileFloats).set(x.subarray(start, start + floats));
  return { tileAt, staged: true };
}

/** Writes rows [k0, k1) x columns [p0, p1) of the image group's im2col matrix at `at.tileAt`. */
export function residentTile(
  d: ConvDescription,
  at: ResidentImage,
  x: Float32Array,
  xBase: number,
  g: number,
  k0: number,
  k1: number,
  p0: number,
  p1: number,
): void {
  const ld = p1 - p0;
  if (at.staged) {
    wasmIm2col(d, 0, d.inChannelsPerGroup, k0, k1, p0, p1, at.tileAt, ld);
    return;
  }
  const tile = wasmResident(at.tileAt + (k1 - k0) * ld);
  im2colTile(d, x, xBase, g, k0, k1, p0, p1, tile, at.tileAt, ld);
}

/**
 * For col2im: copies dX channels [c0, c1) of one image group into the resident region, where
 * the GEMM writes the dX_hat tiles (after them) and `wasmCol2im` adds the tiles onto them; null
 * when the channels are too large to stage (the caller then uses the JS path).
 */
export function stageGradient(
  d: ConvDescription,
  dx: Float32Array,
  dxBase: number,
  g: number,
  c0: number,
  c1: number,
  tileFloats: number,
): ResidentImage | null {
  const plane = d.inHeight * d.inWidth;
  const floats = (c1 - c0) * plane;
  if (floats > STAGED_IMAGE_FLOATS) return null;
  const tileAt = Math.ceil(floats / 16) * 16;
  const start = dxBase + (g * d.inChannelsPerGroup + c0) * plane;
  wasmResident(tileAt + tileFloats).set(dx.subarray(start, start + floats));
  return { tileAt, staged: true };
}

/** Copies the staged dX channels [c0, c1) back into dx. */
export function unstageGradient(
  d: ConvDescription,
  dx: Float32Array,
  dxBase: number,
  g: number,
  c0: number,
  c1: number,
): void {
  const plane = d.inHeight * d.inWidth;
  const start = dxBase + (g * d.inChannelsPerGroup + c0) * plane;
  dx.set(wasmResident((c1 - c0) * plane), start);
}
