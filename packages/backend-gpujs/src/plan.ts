import {
  type BackwardRequest,
  type ConvDescription,
  type EnginePlan,
  type ForwardRequest,
  planFromOneShot,
} from '@conv2d/core';
import type { Engine } from './engine.js';
import type { GpuTexture } from './gpujs.js';
import { TextureConv } from './texture-conv.js';
import type { Handle, Textures } from './textures.js';

/**
 * Plans of the gpu.js engine (`BackendKernels.plan`). In GL and webgpu modes (`textures` given)
 * weights, saved inputs and resident results stay in GPU memory (textures, storage buffers), and
 * calls read back only what is asked for on the host; GL and webgpu one-shot calls run through the same
 * code (`DeviceOneShot`). In cpu and webasm modes a plan runs the one-shot kernels, made when the
 * plan is made, on host arrays (gpu.js copies them in on every call).
 */
export async function createEnginePlan(
  engine: Engine,
  textures: Textures | null,
  desc: ConvDescription,
): Promise<EnginePlan<Handle, unknown>> {
  if (textures) {
    const conv = new TextureConv(engine, textures, desc);
    await engine.exclusive(() => conv.build());
    return new TexturePlan(engine, conv);
  }
  engine.prepareOneShot(desc);
  const plan = planFromOneShot(desc, {
    forward: (d, x, w, b) => engine.forward(d, x, w, b),
    backward: (d, dy, x, w, wanted) => engine.backward(d, dy, x, w, wanted),
  });
  // No device memory in these modes: device tensors are host arrays (core's hostStore).
  return plan as EnginePlan<Handle, unknown>;
}

/** A GL plan: a TextureConv whose calls take their turn in the engine's queue. */
class TexturePlan implements EnginePlan<Handle, GpuTexture> {
  constructor(
    private readonly engine: Engine,
    private readonly conv: TextureConv,
  ) {}

  setWeights(w: Float32Array, b: Float32Array | null) {
    return this.engine.exclusive(() => this.conv.setWeights(w, b));
  }

  forward(x: Handle, request: ForwardRequest) {
    return this.engine.exclusive(() => this.conv.forward(x, request.save, request.resident));
  }

  backward(dy: Handle, saved: GpuTexture, request: BackwardRequest) {
    const { wanted, resident } = request;
    return this.engine.exclusive(() => this.conv.backward(dy, saved, wanted, resident));
  }

  save(x: Handle) {
    return this.engine.exclusive(() => this.conv.save(x));
  }

  release(saved: GpuTexture) {
    this.conv.release(saved);
  }

  dispose() {
    this.conv.freeWeights();
  }
}
