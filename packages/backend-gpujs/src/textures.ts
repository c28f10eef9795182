import { fail, type TensorStore } from '@conv2d/core';
import { checkRanInMode, type Engine } from './engine.js';
import { type GpuTexture, input, type KernelRun } from './gpujs.js';
import { flatten } from './readback.js';
import type { KernelSource, OutputSize } from './sources.js';
import { tensorOrder, uploadSource } from './texture-sources.js';

/**
 * A device tensor's data in GL and webgpu modes: a texture or storage buffer in tensor order
 * (one value per element), or,
 * until a plan first reads it, the host copy `backend.upload` took. The texture's dims are those
 * of the plan that made or read it; a plan wanting other dims (another layout) moves it.
 */
export class TextureTensor {
  constructor(
    readonly size: number,
    public texture: GpuTexture | null,
    public host: Float32Array | null = null,
  ) {}
}

/** An engine handle: a TextureTensor in GPU modes; a host array elsewhere (and empty results). */
export type Handle = Float32Array | TextureTensor;

/** A texture a call reads, and whether the call made it (then it must free or keep it). */
export interface Operand {
  readonly texture: GpuTexture;
  readonly owned: boolean;
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * The GPU memory of one GL or webgpu engine: uploads and readbacks (counted in the engine's
 * stats), and every texture or buffer this package holds (counted too, so a test sees that all
 * of them are freed).
 */
export class Textures {
  /** The upload kernel of each dims (looked up in the engine's cache once). */
  private readonly uploaders = new Map<string, KernelRun>();

  constructor(private readonly engine: Engine) {}

  /** Counts a texture this package now holds (an upload or a kernel's result). */
  hold(t: GpuTexture): GpuTexture {
    this.engine.stats.textures++;
    return t;
  }

  free(t: GpuTexture | null): void {
    if (!t) return;
    t.delete();
    this.engine.stats.textures--;
  }

  /**
   * Host data into a new texture of `dims`, through the upload kernel a plan made for them.
   * `counted`: false for the zeros a plan compiles its kernels on (no tensor moves).
   */
  async upload(data: Float32Array, dims: OutputSize, counted = true): Promise<GpuTexture> {
    const key = dims.join('x');
    let run = this.uploaders.get(key);
    if (!run) {
      run = this.engine.textureKernel(uploadSource(dims));
      this.uploaders.set(key, run);
    }
    const t = this.hold(
      (await run(dims.length === 1 ? data : input(data, [...dims]))) as GpuTexture,
    );
    try {
      checkRanInMode(run, this.engine.mode);
    } catch (e) {
      this.free(t);
      throw e;
    }
    if (counted) this.engine.stats.uploads++;
    return t;
  }

  /** Milliseconds spent reading back (gpu.js's toArray) and unpacking, for call phases. */
  readonly readTimes = { shapeMs: 0, unpackMs: 0 };

  /** A texture's values on the host, in tensor order (`ks` says how its lanes lie). */
  async read(t: GpuTexture, ks: KernelSource, size: number): Promise<Float32Array> {
    this.engine.stats.readbacks++;
    const start = performance.now();
    const nested = await t.toArray();
    const read = performance.now();
    const data = flatten(nested, ks, size);
    this.readTimes.shapeMs += read - start;
    this.readTimes.unpackMs += performance.now() - read;
    return data;
  }

  /** `h` as a texture of `dims`: uploaded when it is host data, moved when its dims differ. */
  async operand(h: Handle, dims: OutputSize): Promise<Operand> {
    if (h instanceof Float32Array) return { texture: await this.upload(h, dims), owned: true };
    const current = h.texture;
    if (!current && !h.host) {
      // Disposed after the call was made, before it ran.
      fail(
        'disposed',
        'device tensor',
        'disposed before a queued call read it',
        'a live device tensor',
      );
    }
    if (current && sameDims(current.output, dims)) return { texture: current, owned: false };
    const data = h.host ?? (await this.read(current as GpuTexture, this.orderOf(current), h.size));
    const placed = await this.upload(data, dims);
    this.free(current);
    h.texture = placed;
    h.host = null;
    return { texture: placed, owned: false };
  }

  /** An operand's texture for the caller to keep (a saved state): its own reference. */
  keep(o: Operand): GpuTexture {
    return o.owned ? o.texture : this.hold(o.texture.clone());
  }

  /** Frees an operand the call uploaded and did not keep. */
  drop(o: Operand): void {
    if (o.owned) this.free(o.texture);
  }

  private orderOf(t: GpuTexture | null): KernelSource {
    return tensorOrder([...(t as GpuTexture).output] as OutputSize);
  }

  /** Where device tensors live in GL and webgpu modes. */
  readonly store: TensorStore<Handle> = {
    // The copy reaches the GPU when a plan first reads it, in that plan's dims (its layout).
    upload: (data) => new TextureTensor(data.length, null, data.slice()),
    download: (h, size) => {
      if (h instanceof Float32Array) return h.slice();
      if (h.host) return h.host.slice();
      const t = h.texture as GpuTexture;
      return this.engine.exclusive(() => this.read(t, this.orderOf(t), size));
    },
    release: (h) => {
      if (h instanceof Float32Array) return;
      this.free(h.texture);
      h.texture = null;
      h.host = null;
    },
  };
}
