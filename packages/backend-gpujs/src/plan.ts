import {
  type BackwardRequest,
  type ConvDescription,
  type EnginePlan,
  type ForwardRequest,
  planFromOneShot,
} from '@conv2d/core';
import { checkRanInMode, type Engine, type Gradient } from './engine.js';
import type { GpuTexture, KernelRun } from './gpujs.js';
import {
  activationDims,
  dbSource,
  dwSource,
  dxSource,
  forwardSource,
  type KernelSource,
  type OutputSize,
  weightDims,
} from './sources.js';
import { relayoutSource, uploadSource } from './texture-sources.js';
import { type Handle, type Operand, type Textures, TextureTensor } from './textures.js';

/**
 * Plans of the gpu.js engine (`BackendKernels.plan`). In GL modes (`textures` given) weights,
 * saved inputs and resident results are textures, and calls read back only what is asked for
 * on the host. In cpu, webasm and webgpu modes a plan runs the one-shot kernels, compiled when
 * the plan is made, on host arrays (gpu.js copies them in on every call).
 */
export async function createEnginePlan(
  engine: Engine,
  textures: Textures | null,
  desc: ConvDescription,
): Promise<EnginePlan<Handle, unknown>> {
  if (textures) {
    const plan = new TexturePlan(engine, textures, desc);
    await plan.build();
    return plan;
  }
  engine.prepareOneShot(desc);
  const plan = planFromOneShot(desc, {
    forward: (d, x, w, b) => engine.forward(d, x, w, b),
    backward: (d, dy, x, w, wanted) => engine.backward(d, dy, x, w, wanted),
  });
  // No device memory in these modes: device tensors are host arrays (core's hostStore).
  return plan as EnginePlan<Handle, unknown>;
}

/** One kernel of a GL plan, and the kernel that puts its 4-lane result in tensor order. */
interface Pass {
  readonly ks: KernelSource;
  readonly run: KernelRun;
  readonly relayout: KernelRun | null;
  /** Elements of its result. */
  readonly size: number;
}

class TexturePlan implements EnginePlan<Handle, GpuTexture> {
  private w: GpuTexture | null = null;
  private b: GpuTexture | null = null;
  private readonly xDims: OutputSize;
  private readonly dyDims: OutputSize;
  private readonly wDims: OutputSize;
  private readonly bDims: OutputSize;
  private readonly hasBias: boolean;
  private readonly forwardPass: Pass;
  private readonly gradientPasses: Record<Gradient, Pass>;

  constructor(
    private readonly engine: Engine,
    private readonly textures: Textures,
    desc: ConvDescription,
  ) {
    const d = desc;
    this.xDims = activationDims(d, d.inChannels, d.inHeight, d.inWidth);
    this.dyDims = activationDims(d, d.outChannels, d.outHeight, d.outWidth);
    this.wDims = weightDims(d);
    this.bDims = [d.outChannels];
    this.hasBias = d.hasBias;
    // Every kernel a call may run is made now, so calls compile nothing.
    const dims = [this.xDims, this.dyDims, this.wDims, ...(d.hasBias ? [this.bDims] : [])];
    for (const size of dims) engine.textureKernel(uploadSource(size));
    this.forwardPass = this.pass(forwardSource(d, engine.lanes));
    this.gradientPasses = {
      dx: this.pass(dxSource(d, engine.lanes)),
      dw: this.pass(dwSource(d, engine.lanes)),
      db: this.pass(dbSource(d)),
    };
  }

  private pass(ks: KernelSource): Pass {
    const { engine } = this;
    return {
      ks,
      run: engine.textureKernel(ks),
      relayout: ks.lanes === 4 ? engine.textureKernel(relayoutSource(ks)) : null,
      size: ks.output.reduce((a: number, b: number) => a * b, 1) * ks.lanes,
    };
  }

  /**
   * Compiles the convolution kernels (and the upload kernels) now, on zero tensors, so calls
   * compile nothing; only the relayout kernels, which read a 4-lane result, compile on the
   * first call that keeps such a result resident.
   */
  build(): Promise<void> {
    return this.engine.exclusive(() => {
      const { textures, engine } = this;
      const zeros = (dims: OutputSize) =>
        textures.upload(
          new Float32Array(dims.reduce((a: number, b: number) => a * b, 1)),
          dims,
          false,
        );
      const x = zeros(this.xDims);
      const dy = zeros(this.dyDims);
      const w = zeros(this.wDims);
      const b = this.hasBias ? zeros(this.bDims) : null;
      try {
        const build = (pass: Pass, args: GpuTexture[]) => {
          pass.run.kernel.build?.(...args);
          checkRanInMode(pass.run, engine.mode);
        };
        build(this.forwardPass, b ? [x, w, b] : [x, w]);
        build(this.gradientPasses.dx, [dy, w]);
        build(this.gradientPasses.dw, [dy, x]);
        build(this.gradientPasses.db, [dy]);
      } finally {
        for (const t of [x, dy, w, b]) textures.free(t);
      }
    });
  }

  setWeights(w: Float32Array, b: Float32Array | null) {
    return this.engine.exclusive(() => {
      const { textures } = this;
      textures.free(this.w);
      textures.free(this.b);
      this.w = this.b = null;
      this.w = textures.upload(w, this.wDims);
      this.b = b ? textures.upload(b, this.bDims) : null;
    });
  }

  /** Runs one pass; its result read back, or kept as a device tensor in tensor order. */
  private finish(pass: Pass, args: GpuTexture[], resident: boolean): Handle {
    const { textures } = this;
    const out = this.runOn(pass.run, args);
    try {
      if (!resident) return textures.read(out, pass.ks, pass.size);
      if (!pass.relayout) return new TextureTensor(pass.size, out);
      return new TextureTensor(pass.size, this.runOn(pass.relayout, [out]));
    } finally {
      // Kept only when it is the device tensor itself.
      if (!resident || pass.relayout) textures.free(out);
    }
  }

  /** A kernel's result texture (this package's reference), after checking the mode that ran. */
  private runOn(run: KernelRun, args: GpuTexture[]): GpuTexture {
    const out = this.textures.hold(run(...args) as GpuTexture);
    try {
      checkRanInMode(run, this.engine.mode);
    } catch (e) {
      this.textures.free(out);
      throw e;
    }
    return out;
  }

  forward(x: Handle, request: ForwardRequest) {
    return this.engine.exclusive(() => {
      const { textures } = this;
      const xt = textures.operand(x, this.xDims);
      let saved: GpuTexture | null = null;
      try {
        const args = [xt.texture, this.w as GpuTexture];
        if (this.b) args.push(this.b);
        const y = this.finish(this.forwardPass, args, request.resident);
        if (request.save) saved = textures.keep(xt);
        return { y, saved };
      } finally {
        if (!saved) textures.drop(xt);
      }
    });
  }

  backward(dy: Handle, saved: GpuTexture, request: BackwardRequest) {
    return this.engine.exclusive(() => {
      const { textures, gradientPasses: p } = this;
      const { wanted, resident } = request;
      const dyt: Operand = textures.operand(dy, this.dyDims);
      const made: Partial<Record<Gradient, Handle>> = {};
      try {
        if (wanted.dx) made.dx = this.finish(p.dx, [dyt.texture, this.w as GpuTexture], resident);
        if (wanted.dw) made.dw = this.finish(p.dw, [dyt.texture, saved], resident);
        if (wanted.db) made.db = this.finish(p.db, [dyt.texture], resident);
        return made;
      } catch (e) {
        for (const h of Object.values(made)) textures.store.release(h);
        throw e;
      } finally {
        textures.drop(dyt);
      }
    });
  }

  save(x: Handle) {
    return this.engine.exclusive(() => this.textures.keep(this.textures.operand(x, this.xDims)));
  }

  release(saved: GpuTexture) {
    this.textures.free(saved);
  }

  dispose() {
    this.textures.free(this.w);
    this.textures.free(this.b);
    this.w = this.b = null;
  }
}
