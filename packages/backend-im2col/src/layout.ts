/**
 * NHWC <-> NCHW copies of `count` images into a caller's buffer (core's `transposeLayout`
 * allocates; these write into staging buffers, shared ones included).
 */
export function nhwcToNchw(
  src: Float32Array,
  dst: Float32Array,
  count: number,
  channels: number,
  height: number,
  width: number,
): void {
  const plane = height * width;
  for (let n = 0; n < count; n++) {
    const base = n * plane * channels;
    for (let p = 0; p < plane; p++) {
      const from = base + p * channels;
      for (let c = 0; c < channels; c++) dst[base + c * plane + p] = src[from + c];
    }
  }
}

export function nchwToNhwc(
  src: Float32Array,
  dst: Float32Array,
  count: number,
  channels: number,
  height: number,
  width: number,
): void {
  const plane = height * width;
  for (let n = 0; n < count; n++) {
    const base = n * plane * channels;
    for (let c = 0; c < channels; c++) {
      const from = base + c * plane;
      for (let p = 0; p < plane; p++) dst[base + p * channels + c] = src[from + p];
    }
  }
}
