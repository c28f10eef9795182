import type { ConvDescription } from '@conv2d/core';
import { type Im2colGeometry, wasmIm2col, wasmResident } from '@conv2d/gemm';
import { im2colTile } from './im2col.js';

/**
 * im2col tiles built inside the Wasm GEMM's memory (its resident region), so that the GEMM
 * reads them where they are written instead of copying a JS-built tile in. For each tile, the
 * band of input rows its output positions read is copied in (all channels of the task), and
 * the tile is gathered from that band by `wasmIm2col` (SIMD row copies, about 3x cheaper than
 * the JS loop). A band, not the whole image: a 224x224x64 image is 12 MiB, the rows of one
 * tile a few hundred KiB, so large images stay on the fast path and the band stays in cache.
 * A band too large to stage (huge rows) is gathered by the JS loop straight into the memory.
 */

/**
 * Largest im2col tile in the Wasm memory (floats, 1 MiB): the tile is still in L2 when the
 * kernel packs it. Measured as fast as 0.25-4 MiB tiles (within noise) and clearly faster than
 * whole-image tiles of several MiB.
 */
export const RESIDENT_TILE_FLOATS = 1 << 18;

/** Largest band of rows staged in the Wasm memory (floats, 4 MiB). */
const STAGED_BAND_FLOATS = 1 << 20;

/**
 * Rows [r0, r1) of channels [c0, c1) of one image group, staged at the start of the resident
 * region. `geometry` describes the band as if it were the whole image: its first row is row r0,
 * and the rows above and below it read as padding (no output position of the tile reads them).
 */
export interface Band {
  geometry: Im2colGeometry;
  c0: number;
  c1: number;
  r0: number;
  r1: number;
}

/**
 * The resident region for one tile: the staged band (or none: too large to stage, gathered by
 * the JS loop instead), the im2col tile at `tileAt`, and an optional block at `extraAt` (the
 * forward's output tile). `floats` is the whole reservation.
 */
export interface ResidentLayout {
  band: Band | null;
  tileAt: number;
  extraAt: number;
  floats: number;
}

const align16 = (n: number) => Math.ceil(n / 16) * 16;

/** Input rows [r0, r1) that output positions [p0, p1) read, clipped to the image. */
function inputRows(d: ConvDescription, p0: number, p1: number): [number, number] {
  const i0 = Math.floor(p0 / d.outWidth);
  const i1 = Math.floor((p1 - 1) / d.outWidth);
  const r0 = Math.max(0, i0 * d.strideHeight - d.padTop);
  const r1 = Math.min(
    d.inHeight,
    i1 * d.strideHeight - d.padTop + (d.kernelHeight - 1) * d.dilationHeight + 1,
  );
  return [r0, Math.max(r0, r1)];
}

/**
 * A band that tiles only read (im2col) and that holds this many times what they gather from it
 * is not staged: the JS loop gathers the tiles from x directly. A strided small kernel reads a fraction
 * of its rows (the 1x1/2 projection D a quarter), so copying them all in first costs more.
 */
const SPARSE_BAND = 2;

/**
 * Reserves the resident region for a tile of `tileFloats` (plus `extraFloats` after it) and
 * copies in the rows that output positions [p0, p1) read, of channels [c0, c1) of the NCHW
 * image at `base` (its channel 0), when they fit. `gather`: the tile only reads the band (no
 * col2im onto it), so a band much larger than the tile is left unstaged.
 */
export function stageBand(
  d: ConvDescription,
  image: Float32Array,
  base: number,
  c0: number,
  c1: number,
  p0: number,
  p1: number,
  tileFloats: number,
  extraFloats = 0,
  gather = true,
): ResidentLayout {
  const [r0, r1] = inputRows(d, p0, p1);
  const W = d.inWidth;
  const rowsFloats = (r1 - r0) * W;
  const bandFloats = (c1 - c0) * rowsFloats;
  // what the tiles gather from it in all: the im2col rows of these channels, these positions
  const im2colFloats = (c1 - c0) * d.kernelHeight * d.kernelWidth * (p1 - p0);
  const sparse = gather && bandFloats > SPARSE_BAND * im2colFloats;
  const staged = bandFloats <= STAGED_BAND_FLOATS && !sparse;
  // Each part starts on a 16-float (64-byte) boundary.
  const tileAt = staged ? align16(bandFloats) : 0;
  const extraAt = tileAt + align16(tileFloats);
  const floats = extraAt + extraFloats;
  const region = wasmResident(floats);
  if (!staged) return { band: null, tileAt, extraAt, floats };
  const plane = d.inHeight * W;
  if (rowsFloats === plane) {
    // every row: the channels are contiguous, one copy
    region.set(image.subarray(base + c0 * plane, base + c1 * plane));
  } else {
    for (let c = c0; c < c1; c++) {
      const from = base + c * plane + r0 * W;
      region.set(image.subarray(from, from + rowsFloats), (c - c0) * rowsFloats);
    }
  }
  const geometry = { ...d, inHeight: r1 - r0, padTop: d.padTop + r0 };
  return { band: { geometry, c0, c1, r0, r1 }, tileAt, extraAt, floats };
}

/** Copies the staged band back into the image (after col2im added onto it). */
export function unstageBand(
  d: ConvDescription,
  layout: ResidentLayout,
  image: Float32Array,
  base: number,
): void {
  const band = layout.band;
  if (!band) return;
  const W = d.inWidth;
  const rowsFloats = (band.r1 - band.r0) * W;
  const region = wasmResident(layout.floats);
  const plane = d.inHeight * W;
  for (let c = band.c0; c < band.c1; c++) {
    const off = (c - band.c0) * rowsFloats;
    image.set(region.subarray(off, off + rowsFloats), base + c * plane + band.r0 * W);
  }
}

/**
 * Writes rows [k0, k1) x columns [p0, p1) of the image group's im2col matrix at the layout's
 * tile: gathered from the staged band, or (no band) by the JS loop from x.
 */
export function residentTile(
  d: ConvDescription,
  layout: ResidentLayout,
  x: Float32Array,
  xBase: number,
  g: number,
  k0: number,
  k1: number,
  p0: number,
  p1: number,
): void {
  const ld = p1 - p0;
  const band = layout.band;
  if (band) {
    wasmIm2col(band.geometry, 0, band.c1 - band.c0, k0, k1, p0, p1, layout.tileAt, ld);
    return;
  }
  im2colTile(d, x, xBase, g, k0, k1, p0, p1, wasmResident(layout.floats), layout.tileAt, ld);
}
