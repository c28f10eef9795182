import type { Tensor } from '@conv2d/core';

/** OIHW [Cout, Cin/g, Kh, Kw] weights to TensorFlow's HWIO [Kh, Kw, Cin/g, Cout]. */
export function oihwToHwio(w: Tensor): Float32Array {
  const [o, i, h, k] = w.shape as [number, number, number, number];
  const out = new Float32Array(w.data.length);
  for (let a = 0; a < o; a++)
    for (let b = 0; b < i; b++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < k; x++)
          out[((y * k + x) * i + b) * o + a] = w.data[((a * i + b) * h + y) * k + x];
  return out;
}

/** HWIO back to OIHW, for the shape [Cout, Cin/g, Kh, Kw]. */
export function hwioToOihw(data: Float32Array, oihw: readonly number[]): Float32Array {
  const [o, i, h, k] = oihw as [number, number, number, number];
  const out = new Float32Array(data.length);
  for (let a = 0; a < o; a++)
    for (let b = 0; b < i; b++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < k; x++)
          out[((a * i + b) * h + y) * k + x] = data[((y * k + x) * i + b) * o + a];
  return out;
}
