import { type ConvDescription, fail } from '@conv2d/core';
import { checkRanInMode, type Engine, type Gradient, type PassName } from './engine.js';
import type { GpuTexture, KernelRun } from './gpujs.js';
import {
  activationDims,
  type KernelSource,
  type OutputSize,
  oneLaneOutput,
  weightDims,
} from './sources.js';
import { splitRows } from './split-sources.js';
import { oneLane, relayoutSource } from './texture-sources.js';
import { type Handle, type Textures, TextureTensor } from './textures.js';

/**
 * The kernels of one pass of a GL convolution: its kernel, the kernel adding up its partial sums
 * (`ks.sum`), and the kernel that puts a multi-lane result in tensor order.
 */
interface Pass {
  readonly ks: KernelSource;
  readonly run: KernelRun;
  readonly sum: KernelRun | null;
  /** What the pass returns: `ks.sum`'s result, else `ks`'s. */
  readonly result: KernelSource;
  readonly relayout: KernelRun | null;
  /** Elements of its result. */
  readonly size: number;
}

/**
 * One convolution on GL textures: its kernels, its weights' textures, and each call's work,
 * GPU memory: textures in GL modes, storage buffers in webgpu (gpu.js's pipeline handles have the
 * same clone/delete/toArray contract; webgpu's calls and readbacks are asynchronous). Callers hold
 * the engine's queue (`exclusive`) around every method.
 */
export class TextureConv {
  private w: GpuTexture | null = null;
  private b: GpuTexture | null = null;
  private readonly xDims: OutputSize;
  private readonly dyDims: OutputSize;
  private readonly wDims: OutputSize;
  private readonly bDims: OutputSize;
  private readonly passes = new Map<PassName, Pass>();
  private readonly webgpu: boolean;

  constructor(
    private readonly engine: Engine,
    private readonly textures: Textures,
    private readonly desc: ConvDescription,
  ) {
    const d = desc;
    this.xDims = activationDims(d, d.inChannels, d.inHeight, d.inWidth);
    this.dyDims = activationDims(d, d.outChannels, d.outHeight, d.outWidth);
    this.wDims = weightDims(d);
    this.bDims = [d.outChannels];
    this.webgpu = engine.mode === 'webgpu';
  }

  /** A pass's kernels, made on first use (a plan makes them all when it is made). */
  private pass(name: PassName): Pass {
    let pass = this.passes.get(name);
    if (!pass) {
      const { engine, desc } = this;
      // dW and db split across threads where one thread's loops would run too long.
      const ks = splitRows(engine.passSource(name, desc), desc, this.webgpu);
      const result = ks.sum ?? ks;
      // webgpu's multi-lane results have their lanes along x (block kernels): already in
      // tensor order, viewed as one lane (see `oneLane`), never relaid.
      const relaid = result.lanes > 1 && !this.webgpu;
      pass = {
        ks,
        run: engine.textureKernel(ks),
        sum: ks.sum ? engine.textureKernel(ks.sum) : null,
        result,
        relayout: relaid ? engine.textureKernel(relayoutSource(result)) : null,
        size: result.output.reduce((a: number, b: number) => a * b, 1) * result.lanes,
      };
      this.passes.set(name, pass);
    }
    return pass;
  }

  /**
   * Makes and compiles every kernel now, on zero tensors, so calls compile nothing; only the
   * kernels that read a multi-lane GL texture (relayouts, and sums of multi-lane partial sums)
   * compile on the first call that runs them.
   */
  async build(): Promise<void> {
    const { textures, engine } = this;
    const zeros = (dims: OutputSize) =>
      textures.upload(
        new Float32Array(dims.reduce((a: number, b: number) => a * b, 1)),
        dims,
        false,
      );
    const made: GpuTexture[] = [];
    const zero = async (dims: OutputSize) => {
      const t = await zeros(dims);
      made.push(t);
      return t;
    };
    try {
      const x = await zero(this.xDims);
      const dy = await zero(this.dyDims);
      const w = await zero(this.wDims);
      const b = this.desc.hasBias ? await zero(this.bDims) : null;
      const compile = async (run: KernelRun, args: GpuTexture[]) => {
        await run.kernel.build?.(...args);
        checkRanInMode(run, engine.mode);
      };
      const build = async (name: PassName, args: GpuTexture[]) => {
        const { ks, run, sum } = this.pass(name);
        await compile(run, args);
        // A GL texture of several lanes cannot be uploaded: that sum compiles on first use.
        if (sum && (ks.lanes === 1 || this.webgpu))
          await compile(sum, [await zero(this.sumDims(ks))]);
      };
      await build('forward', b ? [x, w, b] : [x, w]);
      await build('dx', [dy, w]);
      await build('dw', [dy, x]);
      await build('db', [dy]);
    } finally {
      for (const t of made) textures.free(t);
    }
  }

  async setWeights(w: Float32Array, b: Float32Array | null): Promise<void> {
    this.freeWeights();
    this.w = await this.textures.upload(w, this.wDims);
    this.b = b ? await this.textures.upload(b, this.bDims) : null;
  }

  freeWeights(): void {
    this.textures.free(this.w);
    this.textures.free(this.b);
    this.w = this.b = null;
  }

  /** Runs one pass; its result read back, or kept as a device tensor in tensor order. */
  private async finish(name: PassName, args: GpuTexture[], resident: boolean): Promise<Handle> {
    const { textures } = this;
    const pass = this.pass(name);
    const { result } = pass;
    let out = await this.runOn(pass.run, args);
    if (pass.sum) out = await this.sum(pass.ks, pass.sum, out);
    try {
      if (!resident) return await textures.read(out, result, pass.size);
      if (result.lanes > 1 && !pass.relayout) {
        return new TextureTensor(pass.size, this.textures.hold(oneLane(out, result)));
      }
      if (!pass.relayout) return new TextureTensor(pass.size, out);
      return new TextureTensor(pass.size, await this.runOn(pass.relayout, [out]));
    } finally {
      // Kept only when it is the device tensor itself.
      if (!resident || result.lanes > 1) textures.free(out);
    }
  }

  /**
   * Whether `ks.sum` reads `ks`'s result as one lane: in webgpu, whose kernels refuse multi-lane
   * buffers (the lanes lie along x, see `oneLane`).
   */
  private sumsOneLane(ks: KernelSource): boolean {
    return ks.lanes > 1 && this.webgpu;
  }

  /** The dims of what `ks.sum` reads. */
  private sumDims(ks: KernelSource): OutputSize {
    if (!this.sumsOneLane(ks)) return ks.output;
    return oneLaneOutput(ks.output, ks.lanes);
  }

  /** Runs `run`, the kernel adding up `partial` (the result of `ks`), and frees `partial`. */
  private async sum(ks: KernelSource, run: KernelRun, partial: GpuTexture): Promise<GpuTexture> {
    const input = this.sumsOneLane(ks) ? this.textures.hold(oneLane(partial, ks)) : partial;
    try {
      return await this.runOn(run, [input]);
    } finally {
      if (input !== partial) this.textures.free(input);
      this.textures.free(partial);
    }
  }

  /** A kernel's result texture (this package's reference), after checking the mode that ran. */
  private async runOn(run: KernelRun, args: GpuTexture[]): Promise<GpuTexture> {
    if (args.some((t) => t._deleted)) {
      fail('disposed', 'saved state', 'freed before a queued call read it', 'a live saved state');
    }
    const out = this.textures.hold((await run(...args)) as GpuTexture);
    try {
      checkRanInMode(run, this.engine.mode);
    } catch (e) {
      this.textures.free(out);
      throw e;
    }
    return out;
  }

  async forward(x: Handle, save: boolean, resident: boolean) {
    const { textures } = this;
    const xt = await textures.operand(x, this.xDims);
    let saved: GpuTexture | null = null;
    try {
      const args = [xt.texture, this.w as GpuTexture];
      if (this.b) args.push(this.b);
      const y = await this.finish('forward', args, resident);
      if (save) saved = textures.keep(xt);
      return { y, saved };
    } finally {
      if (!saved) textures.drop(xt);
    }
  }

  /** `saved` (x's texture) is read for dw only, the weights for dx only. */
  async backward(
    dy: Handle,
    saved: GpuTexture | null,
    wanted: Record<Gradient, boolean>,
    resident: boolean,
  ) {
    const { textures } = this;
    const dyt = await textures.operand(dy, this.dyDims);
    const made: Partial<Record<Gradient, Handle>> = {};
    try {
      const w = this.w as GpuTexture;
      if (wanted.dx) made.dx = await this.finish('dx', [dyt.texture, w], resident);
      if (wanted.dw)
        made.dw = await this.finish('dw', [dyt.texture, saved as GpuTexture], resident);
      if (wanted.db) made.db = await this.finish('db', [dyt.texture], resident);
      return made;
    } catch (e) {
      for (const h of Object.values(made)) textures.store.release(h);
      throw e;
    } finally {
      textures.drop(dyt);
    }
  }

  async save(x: Handle): Promise<GpuTexture> {
    return this.textures.keep(await this.textures.operand(x, this.xDims));
  }

  release(saved: GpuTexture | null): void {
    this.textures.free(saved);
  }
}
