import { type Layout, nchwToNhwc, nhwcToNchw } from '@conv2d/core';

/** A zeroed array, shared with the workers when the pass is threaded. */
export function alloc(size: number, shared: boolean): Float32Array {
  return shared ? new Float32Array(new SharedArrayBuffer(size * 4)) : new Float32Array(size);
}

/**
 * Gives a pass its buffers by role ('x', 'w', 'acc', ...), NOT zeroed: plain arrays when the
 * pass runs on one thread, shared ones when threaded.
 */
export type Buffers = (role: string, size: number) => Float32Array;

/**
 * Grow-only buffers by role, kept from one pass to the next. A fresh array, and above all a
 * fresh SharedArrayBuffer, is mapped and page-faulted on first touch every time: allocating and
 * filling the 3.2 MB of x and y of the depthwise layer E cost about 3 ms against 0.8 ms for
 * reused arrays, more than the layer's whole 1-thread time. A plan owns one arena; one-shot
 * calls lease the engine's (`busy`: a pass that overlaps another allocates its own).
 */
export class Arena {
  private readonly buffers = new Map<string, Float32Array>();
  busy = false;

  constructor(private readonly shared: boolean) {}

  readonly get: Buffers = (role, size) => {
    let b = this.buffers.get(role);
    if (!b || b.length < size) {
      b = alloc(size, this.shared);
      this.buffers.set(role, b);
    }
    return b.subarray(0, size);
  };

  clear(): void {
    this.buffers.clear();
  }
}

/** `a` where workers can read it: itself when plain arrays do or it is shared, else a copy. */
export function share(a: Float32Array, shared: boolean, get: Buffers, role: string): Float32Array {
  if (!shared || a.buffer instanceof SharedArrayBuffer) return a;
  const s = get(role, a.length);
  s.set(a);
  return s;
}

/**
 * Moves a batch chunk of one activation tensor between the caller's array (either layout)
 * and what the kernels need (NCHW, shared when threaded). A plain NCHW tensor needs no copy:
 * the kernels get a view of it (a shared one too, when the pass is threaded). Otherwise one
 * chunk-sized buffer is reused, so staging stays within the workspace bound instead of copying
 * whole tensors.
 */
export class Stage {
  private buffer: Float32Array | null = null;
  private readonly image: number;

  constructor(
    private readonly layout: Layout,
    private readonly channels: number,
    private readonly height: number,
    private readonly width: number,
    private readonly shared: boolean,
    private readonly get: Buffers,
    private readonly role: string,
  ) {
    this.image = channels * height * width;
  }

  private inPlace(data: Float32Array): boolean {
    return this.layout === 'NCHW' && (!this.shared || data.buffer instanceof SharedArrayBuffer);
  }

  private take(count: number): Float32Array {
    const size = count * this.image;
    if (!this.buffer || this.buffer.length < size) this.buffer = this.get(this.role, size);
    return this.buffer.subarray(0, size);
  }

  /** Images [n0, n1) of `data`, NCHW. */
  read(data: Float32Array, n0: number, n1: number): Float32Array {
    const view = data.subarray(n0 * this.image, n1 * this.image);
    if (this.inPlace(data)) return view;
    const out = this.take(n1 - n0);
    if (this.layout === 'NCHW') out.set(view);
    else nhwcToNchw(view, out, n1 - n0, this.channels, this.height, this.width);
    return out;
  }

  /** Where to compute images [n0, n1) of `data` (NCHW); `write` then puts them in place. */
  target(data: Float32Array, n0: number, n1: number): Float32Array {
    return this.inPlace(data)
      ? data.subarray(n0 * this.image, n1 * this.image)
      : this.take(n1 - n0);
  }

  /**
   * Images [n0, n1) of `data` when they are staged only to be shared with workers (NCHW both):
   * the calling thread can write its part there directly (`Runner.runIntoResult`). Else null.
   */
  sharedOnly(data: Float32Array, n0: number, n1: number): Float32Array | null {
    if (this.inPlace(data) || this.layout !== 'NCHW') return null;
    return data.subarray(n0 * this.image, n1 * this.image);
  }

  write(data: Float32Array, n0: number, n1: number, computed: Float32Array): void {
    if (this.inPlace(data)) return;
    const view = data.subarray(n0 * this.image, n1 * this.image);
    if (this.layout === 'NCHW') view.set(computed);
    else nchwToNhwc(computed, view, n1 - n0, this.channels, this.height, this.width);
  }
}
