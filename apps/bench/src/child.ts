import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Tensor } from '@conv2d/core';
import { layerTensors, type TensorName } from './data.js';
import {
  createAdapter,
  type EngineAdapter,
  type PassInputs,
  type PreparedPass,
} from './engines/index.js';
import type { Layer } from './layers.js';
import { describeLayer, type Mode, PASSES, type Pass } from './passes.js';
import type { Command, Reply } from './protocol.js';
import { registerProviders } from './providers.js';
import { extractSlice } from './slice.js';

/**
 * A bench child: one engine in one mode on one layer, so that its peak RSS is that engine's
 * (in that mode) on that layer. It times each run itself and sends the time (and the slice of the result that the
 * parent checks) back.
 */
let adapter: EngineAdapter | null = null;
let layer: Layer | null = null;
let inputs: PassInputs | null = null;
let prepared: PreparedPass | null = null;
let pass: Pass = 'forward';
let mode: Mode = 'call';

function loadInputs(l: Layer, dir: string): PassInputs {
  // the parent wrote the tensors once (see runner.ts); generating them here would cost each child a second
  const d = describeLayer(l);
  const shapes: Record<TensorName, readonly number[]> = {
    x: d.xShape,
    w: d.wShape,
    b: [d.outChannels],
    dy: d.yShape,
  };
  const read = (name: TensorName): Tensor => {
    const bytes = readFileSync(join(dir, `${name}.f32`));
    const data = new Float32Array(bytes.byteLength / 4);
    new Uint8Array(data.buffer).set(bytes);
    return { shape: [...shapes[name]], data };
  };
  return dir
    ? { x: read('x'), w: read('w'), b: read('b'), dy: read('dy') }
    : layerTensors(l, d.yShape);
}

/**
 * One-time start-up costs (worker pools, Wasm compilation, JIT of the engine's code) are
 * paid here on a tiny image with the layer's channels and kernel, so that a slow cell
 * timed by its first run measures the convolution, not the start-up.
 */
async function warmUp(
  a: EngineAdapter,
  l: Layer,
  absent: Partial<Record<Pass, string>>,
  m: Mode,
): Promise<void> {
  const tiny: Layer = { ...l, batch: 1, height: l.kernel + 1, width: l.kernel + 1 };
  const t = layerTensors(tiny, describeLayer(tiny).yShape);
  for (const p of PASSES) {
    if (absent[p]) continue;
    try {
      const prepared = await a.prepare(tiny, p, t, m);
      await prepared.run();
      prepared.release();
    } catch {
      // the real run reports what is wrong
    }
  }
}

async function handle(c: Command): Promise<Reply> {
  switch (c.op) {
    case 'init': {
      // a process kept for several layers (--quick) keeps its engine
      layer = c.layer;
      mode = c.mode;
      inputs = null;
      if (!adapter) {
        // peers do not need the registry (nor to load every backend into their memory)
        if (c.def.kind === 'conv2d') await registerProviders(c.providers);
        adapter = await createAdapter(c.def);
      }
      const absent: Partial<Record<Pass, string>> = {};
      for (const p of PASSES) {
        const why = adapter.absent(c.layer, p);
        if (why) absent[p] = why;
      }
      await warmUp(adapter, c.layer, absent, mode);
      const maxRssKiB = process.resourceUsage().maxRSS;
      inputs = loadInputs(c.layer, c.dataDir);
      return { ok: true, absent, maxRssKiB };
    }
    case 'prepare':
      pass = c.pass;
      prepared = await (adapter as EngineAdapter).prepare(
        layer as Layer,
        c.pass,
        inputs as PassInputs,
        mode,
      );
      return { ok: true };
    case 'run': {
      const p = prepared as PreparedPass;
      const start = performance.now();
      await p.run();
      const ms = performance.now() - start;
      if (c.slices.length === 0) return { ok: true, ms };
      const result = p.result();
      return {
        ok: true,
        ms,
        slices: c.slices.map((s) => extractSlice(layer as Layer, pass, s, result)),
      };
    }
    case 'release':
      prepared?.release();
      prepared = null;
      return { ok: true };
    case 'rss':
      return { ok: true, maxRssKiB: process.resourceUsage().maxRSS };
  }
}

process.on('message', (c: Command) => {
  handle(c).then(
    (reply) => process.send?.(reply),
    (e: unknown) => {
      const err = e as { message?: string; code?: unknown };
      process.send?.({
        ok: false,
        error: err?.message ?? String(e),
        ...(typeof err?.code === 'string' ? { code: err.code } : {}),
      });
    },
  );
});
