import type { ConvDescription } from '@conv2d/core';

/** db[co] = sum of dY over batch and positions (float64 running sums), either layout. */
export function biasGrad(d: ConvDescription, dy: Float32Array, out: Float32Array): Float32Array {
  const sums = new Float64Array(d.outChannels);
  const P = d.outHeight * d.outWidth;
  const C = d.outChannels;
  if (d.layout === 'NCHW') {
    for (let n = 0; n < d.batch; n++)
      for (let co = 0; co < C; co++) {
        // Four running sums: one would wait on each add's latency (this was 40% of E's dW).
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        const start = (n * C + co) * P;
        let p = start;
        for (const e = start + P - 3; p < e; p += 4) {
          s0 += dy[p];
          s1 += dy[p + 1];
          s2 += dy[p + 2];
          s3 += dy[p + 3];
        }
        for (; p < start + P; p++) s0 += dy[p];
        sums[co] += s0 + s1 + (s2 + s3);
      }
  } else {
    for (let i = 0; i < dy.length; i += C) for (let co = 0; co < C; co++) sums[co] += dy[i + co];
  }
  out.set(sums);
  return out;
}
