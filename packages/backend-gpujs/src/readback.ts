import type { KernelSource } from './sources.js';

/**
 * Reading results back without gpu.js's nesting.
 *
 * gpu.js's webgpu and webasm kernels read a result into one fresh, tightly packed Float32Array
 * (x fastest, `componentCount` values per element) and hand it to `kernel._shapeOutput`, which
 * nests it: one row array per (y, z), and for Array(4) results one `subarray` per element
 * (6.4 M of them for a 25.7 M-value output). This package only wants the flat values, so on
 * kernels that have that hook it is replaced by one that wraps the packed array as it is.
 * Kernels without it (cpu, GL) keep returning nested arrays, which `flatten` still takes.
 */

/** A kernel's packed result: `componentCount` values per output element, x fastest. */
export class PackedResult {
  constructor(
    readonly data: Float32Array,
    readonly componentCount: number,
  ) {}
}

type ShapeOutput = (data: Float32Array, output: number[], componentCount: number) => unknown;

/**
 * Makes `kernel` return PackedResult instead of nested arrays, where gpu.js shapes its results
 * through `_shapeOutput(data, output, componentCount)` (webgpu and webasm kernels, including a
 * pipeline's private clones, which read back through the same method). `onRead` is told when
 * each result has been copied off the device. Returns whether the kernel had the hook.
 */
export function readPacked(kernel: object, onRead: () => void = () => undefined): boolean {
  const target = kernel as { _shapeOutput?: ShapeOutput };
  if (typeof target._shapeOutput !== 'function') return false;
  target._shapeOutput = (data, _output, componentCount) => {
    onRead();
    return new PackedResult(data, componentCount);
  };
  return true;
}

/** Where a kernel's element (x, y, z) and its lanes land in the tensor (see `flatten`). */
function laneLayout(ks: KernelSource) {
  const [nx, ny] = ks.output.length === 3 ? ks.output : [ks.output[0], 1];
  const lanes = ks.lanes;
  const sx = ks.laneAxis === 0 ? nx * lanes : nx;
  const sy = ks.laneAxis === 1 ? ny * lanes : ny;
  return {
    nx,
    ny,
    sx,
    sy,
    laneStride: ks.laneAxis === 0 ? 1 : ks.laneAxis === 1 ? sx : sx * sy,
    fx: ks.laneAxis === 0 ? lanes : 1,
    fy: ks.laneAxis === 1 ? lanes : 1,
    fz: ks.laneAxis === 2 ? lanes : 1,
  };
}

/**
 * A packed result in the tensor's order. Its array is the kernel's own fresh copy, so it is
 * returned as it is whenever the order already matches (one lane, or lanes along x); otherwise
 * one pass moves each lane to its channel.
 */
function unpack(result: PackedResult, ks: KernelSource, size: number): Float32Array {
  const { data, componentCount } = result;
  if (componentCount !== ks.lanes || data.length !== size) {
    throw new Error(
      `gpu.js returned ${data.length} values in ${componentCount} lanes instead of ${size} in ${ks.lanes}`,
    );
  }
  if (ks.lanes === 1 || ks.laneAxis === 0) return data;
  const { nx, ny, sx, sy, laneStride, fy, fz } = laneLayout(ks);
  const nz = data.length / (nx * ny * 4);
  const out = new Float32Array(size);
  let at = 0;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      let base = (z * fz * sy + y * fy) * sx;
      for (let x = 0; x < nx; x++, base++, at += 4) {
        out[base] = data[at];
        out[base + laneStride] = data[at + 1];
        out[base + 2 * laneStride] = data[at + 2];
        out[base + 3 * laneStride] = data[at + 3];
      }
    }
  }
  return out;
}

/**
 * Copies a gpu.js result into one flat array in the tensor's order: a PackedResult, a flat
 * Float32Array ([x] output), or planes of rows ([x, y, z] output). With 4 lanes, each element
 * is 4 consecutive channels, which sit along `laneAxis` of the tensor: that axis is 4 times
 * longer than the kernel's output.
 */
export function flatten(result: unknown, ks: KernelSource, size: number): Float32Array {
  if (result instanceof PackedResult) return unpack(result, ks, size);
  // Always a copy: gpu.js reuses its output buffers on the next call.
  if (result instanceof Float32Array) return result.slice();
  const out = new Float32Array(size);
  const planes = result as ArrayLike<ArrayLike<Float32Array>>;
  if (ks.lanes === 1) {
    let at = 0;
    for (let z = 0; z < planes.length; z++) {
      for (let y = 0; y < planes[z].length; y++) {
        out.set(planes[z][y], at);
        at += planes[z][y].length;
      }
    }
    if (at !== size) throw new Error(`gpu.js returned ${at} values instead of ${size}`);
    return out;
  }
  const { sx, sy, laneStride, fx, fy, fz } = laneLayout(ks);
  const lanes = ks.lanes;
  let count = 0;
  for (let z = 0; z < planes.length; z++) {
    const plane = planes[z];
    for (let y = 0; y < plane.length; y++) {
      const row = plane[y] as unknown as ArrayLike<ArrayLike<number>>;
      for (let x = 0; x < row.length; x++) {
        const v = row[x];
        const base = (z * fz * sy + y * fy) * sx + x * fx;
        for (let l = 0; l < lanes; l++) out[base + l * laneStride] = v[l];
        count += lanes;
      }
    }
  }
  if (count !== size) throw new Error(`gpu.js returned ${count} values instead of ${size}`);
  return out;
}
