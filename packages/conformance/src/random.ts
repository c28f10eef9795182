import type { Tensor } from '@conv2d/core';

/** Small deterministic PRNG (mulberry32), so a failing property case can be replayed by seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A tensor of float32 values uniform in [-1, 1). */
export function randomTensor(shape: readonly number[], random: () => number): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = random() * 2 - 1;
  return { shape: [...shape], data };
}
