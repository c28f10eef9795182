import type { ConvDescription } from '@conv2d/core';
import type { Engine, Gradient } from './engine.js';
import { forwardSource } from './sources.js';
import { TextureConv } from './texture-conv.js';
import type { Textures } from './textures.js';

/**
 * The one-shot calls of the GPU modes (GL and webgpu), through the plans' code: a convolution gets
 * its TextureConv on its first call (kernels made as its passes are first used, compiled on their
 * first run), and each call uploads its tensors, runs, reads its results back and frees every
 * texture or buffer.
 */
export class DeviceOneShot {
  private readonly convs = new Map<string, TextureConv>();

  constructor(
    private readonly engine: Engine,
    private readonly textures: Textures,
  ) {}

  forward(desc: ConvDescription, x: Float32Array, w: Float32Array, b: Float32Array | null) {
    return this.call('forward', desc, async (conv) => {
      await conv.setWeights(w, b);
      return (await conv.forward(x, false, false)).y as Float32Array;
    });
  }

  backward(
    desc: ConvDescription,
    dy: Float32Array,
    x: Float32Array,
    w: Float32Array,
    wanted: Record<Gradient, boolean>,
  ) {
    return this.call('backward', desc, async (conv) => {
      if (wanted.dx) await conv.setWeights(w, null);
      const saved = wanted.dw ? await conv.save(x) : null;
      try {
        const grads = await conv.backward(dy, saved, wanted, false);
        return grads as Partial<Record<Gradient, Float32Array>>;
      } finally {
        conv.release(saved);
      }
    });
  }

  /** Runs `work` on the convolution's TextureConv in the engine's queue, timing its phases. */
  private call<T>(
    what: 'forward' | 'backward',
    desc: ConvDescription,
    work: (c: TextureConv) => Promise<T>,
  ) {
    return this.engine.exclusive(async () => {
      // The gather forward source holds every size and option, the bias included: the key.
      const ks = forwardSource(desc, this.engine.lanes);
      const key = `${ks.output.join('x')}\n${ks.source}`;
      let conv = this.convs.get(key);
      const compiled = !conv;
      if (conv) this.engine.stats.cacheHits++;
      else {
        conv = new TextureConv(this.engine, this.textures, desc);
        this.convs.set(key, conv);
      }
      const reads = this.textures.readTimes;
      reads.shapeMs = reads.unpackMs = 0;
      const start = performance.now();
      let result: T;
      try {
        result = await work(conv);
      } catch (e) {
        // A convolution whose first call failed is not kept half-built.
        if (compiled) this.convs.delete(key);
        throw e;
      } finally {
        conv.freeWeights();
      }
      const ms = performance.now() - start;
      // Not split into submit and wait here: GL runs synchronously and its readback is gpu.js's
      // shaping; webgpu's wait for the device is in submitMs.
      const { shapeMs, unpackMs } = reads;
      this.engine.record({
        call: what,
        compiled,
        submitMs: Math.max(0, ms - shapeMs - unpackMs),
        waitMs: 0,
        shapeMs,
        unpackMs,
      });
      return result;
    });
  }
}
