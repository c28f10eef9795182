import type { Conv2dOptions } from '@conv2d/core';

/** One benchmark layer, NCHW, float32, with bias. */
export interface Layer {
  /** Letter first, as results.json and the table name it: `B 3x3 c64`. */
  readonly name: string;
  readonly id: string;
  readonly batch: number;
  readonly inChannels: number;
  readonly height: number;
  readonly width: number;
  readonly outChannels: number;
  readonly kernel: number;
  readonly stride: number;
  readonly padding: number;
  readonly groups: number;
}

const layer = (
  id: string,
  label: string,
  batch: number,
  inChannels: number,
  size: number,
  outChannels: number,
  kernel: number,
  stride: number,
  padding: number,
  groups = 1,
): Layer => ({
  name: `${id} ${label}`,
  id,
  batch,
  inChannels,
  height: size,
  width: size,
  outChannels,
  kernel,
  stride,
  padding,
  groups,
});

/** The layer set of issue 5. */
export const LAYERS: readonly Layer[] = [
  layer('A', '7x7/2 stem', 1, 3, 224, 64, 7, 2, 3),
  layer('B', '3x3 c64', 1, 64, 56, 64, 3, 1, 1),
  layer('C', '3x3 c128 n8', 8, 128, 28, 128, 3, 1, 1),
  layer('D', '1x1/2 proj c256-512', 1, 256, 14, 512, 1, 2, 0),
  layer('E', '3x3 depthwise c32', 1, 32, 112, 32, 3, 1, 1, 32),
  layer('F', '5x5 c1-32 n32', 32, 1, 28, 32, 5, 1, 2),
  layer('G', '3x3 c64 n8 224px', 8, 64, 224, 64, 3, 1, 1),
];

/**
 * Issue 4's GPU target layer: N8 Cin64 56x56 Cout64 3x3 pad 1 (cuDNN fp32 ~19,000 GFLOP/s on an
 * H200). The GPU check and the browser bench run it after the layer set.
 */
export const TARGET_LAYER: Layer = layer(
  'T',
  '3x3 c64 n8 56px (GPU target)',
  8,
  64,
  56,
  64,
  3,
  1,
  1,
);

/**
 * `--quick`: the same layers (names, channels, kernels, strides) on images 8x smaller and
 * batches of at most 2, so that a smoke run of every engine stays under two minutes.
 */
export function quickLayer(l: Layer): Layer {
  const size = Math.max(l.kernel + 1, Math.ceil(l.height / 8));
  return { ...l, batch: Math.min(l.batch, 2), height: size, width: size };
}

export function layerOptions(l: Layer): Conv2dOptions {
  return { stride: l.stride, padding: l.padding, groups: l.groups, layout: 'NCHW' };
}

export function layerShapes(l: Layer): {
  x: [number, number, number, number];
  w: [number, number, number, number];
  b: [number];
} {
  return {
    x: [l.batch, l.inChannels, l.height, l.width],
    w: [l.outChannels, l.inChannels / l.groups, l.kernel, l.kernel],
    b: [l.outChannels],
  };
}

/** Selects layers by letter (`A,C`); all when `ids` is empty. */
export function selectLayers(layers: readonly Layer[], ids: readonly string[]): Layer[] {
  if (ids.length === 0) return [...layers];
  const known = new Set(layers.map((l) => l.id));
  for (const id of ids) {
    if (!known.has(id.toUpperCase())) {
      throw new Error(`unknown layer ${id}; known: ${[...known].join(', ')}`);
    }
  }
  const wanted = new Set(ids.map((i) => i.toUpperCase()));
  return layers.filter((l) => wanted.has(l.id));
}
